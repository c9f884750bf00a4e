import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const WEB_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** What the dashboard's build is made from (the server code under src/server is not bundled). */
export const DASHBOARD_SOURCES = [
  path.join(WEB_ROOT, "src"),
  path.join(WEB_ROOT, "index.html"),
  path.join(WEB_ROOT, "vite.config.ts"),
  path.join(WEB_ROOT, "package.json"),
  // Bundled too: the macro rules the URL fields check as the user types are core's.
  path.join(WEB_ROOT, "..", "..", "packages", "core", "src"),
];

function newestFile(target: string, skip: string): { file: string; mtimeMs: number } | null {
  if (!existsSync(target) || target === skip) return null;
  const stat = statSync(target);
  if (!stat.isDirectory()) return { file: target, mtimeMs: stat.mtimeMs };
  let newest: { file: string; mtimeMs: number } | null = null;
  for (const entry of readdirSync(target)) {
    const found = newestFile(path.join(target, entry), skip);
    if (found && (newest === null || found.mtimeMs > newest.mtimeMs)) newest = found;
  }
  return newest;
}

/**
 * Why the built dashboard in `dist` must be rebuilt before it is served, or null when it is current:
 * never built, or a source changed after the build (a `git pull` brings newer files). Serving an old
 * build against a newer api shows screens that call procedures that no longer exist.
 */
export function dashboardBuildStaleness(
  dist: string,
  sources: readonly string[] = DASHBOARD_SOURCES,
  skip: string = path.join(WEB_ROOT, "src", "server"),
): string | null {
  const index = path.join(dist, "index.html");
  if (!existsSync(index)) return "it has never been built in this checkout";
  const builtAt = statSync(index).mtimeMs;
  let newest: { file: string; mtimeMs: number } | null = null;
  for (const source of sources) {
    const found = newestFile(source, skip);
    if (found && (newest === null || found.mtimeMs > newest.mtimeMs)) newest = found;
  }
  if (newest && newest.mtimeMs > builtAt) {
    return `${path.relative(path.dirname(dist), newest.file)} changed after the last build`;
  }
  return null;
}
