import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

export interface BuiltTag {
  code: string;
  gzipBytes: number;
  etag: string;
}

/**
 * Stands in the built code for the workspace's visitor-ID parameter name; `tagFor` writes the name
 * in. One build serves every workspace, each its own name (and its own ETag).
 */
const VID_PARAM_PLACEHOLDER = "__hitrail_vid_param__";

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
      define: { __HITRAIL_VID_PARAM__: JSON.stringify(VID_PARAM_PLACEHOLDER) },
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

const NAME = /^[A-Za-z0-9_.-]{1,40}$/;

/**
 * The tag as one workspace is served it: the page URL's parameter that carries the visitor ID (the
 * workspace's setting, core's visitorIdParamProblem) written in. A name that could break out of
 * the string literal is never written: the default is served instead.
 */
export function tagFor(built: BuiltTag, visitorIdParam: string): Omit<BuiltTag, "gzipBytes"> {
  const name = NAME.test(visitorIdParam) ? visitorIdParam : "vid";
  if (!built.code.includes(VID_PARAM_PLACEHOLDER)) throw new Error("the tag has no visitor-ID placeholder");
  return {
    code: built.code.split(VID_PARAM_PLACEHOLDER).join(name),
    etag: `"${built.etag.slice(1, -1)}-${createHash("sha256").update(name).digest("base64url").slice(0, 8)}"`,
  };
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
