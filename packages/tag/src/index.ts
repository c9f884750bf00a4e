import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

export interface BuiltTag {
  code: string;
  gzipBytes: number;
  etag: string;
}

/** The budget the tag must stay within, gzipped: it loads on every lander and offer page. */
export const TAG_GZIP_BUDGET = 4 * 1024;

let cached: Promise<BuiltTag> | null = null;

/** Bundles and minifies the browser tag once per process; the tracker serves the result. */
export function buildTag(): Promise<BuiltTag> {
  cached ??= (async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL("./browser/tag.ts", import.meta.url))],
      bundle: true,
      minify: true,
      format: "iife",
      target: "es2020",
      write: false,
      legalComments: "none",
    });
    const code = result.outputFiles[0]?.text ?? "";
    return {
      code,
      gzipBytes: gzipSync(code, { level: 9 }).length,
      etag: `"${createHash("sha256").update(code).digest("base64url").slice(0, 22)}"`,
    };
  })();
  return cached;
}

/** Queues `flux.track` calls made before tag.js arrives; must come before the tag on the page. */
export const TAG_STUB =
  'window.flux=window.flux||{q:[],track:function(){window.flux.q.push(["track",arguments])}};';

export function tagSnippet(opts: { src: string; funnel?: string; node?: string; page?: string }): string {
  const attrs = (["funnel", "node", "page"] as const)
    .filter((k) => opts[k])
    .map((k) => ` data-${k}="${opts[k]}"`)
    .join("");
  return `<script>${TAG_STUB}</script>\n<script src="${opts.src}"${attrs} async></script>`;
}
