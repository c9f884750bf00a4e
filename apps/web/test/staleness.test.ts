import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dashboardBuildStaleness } from "../src/server/index.ts";

const root = mkdtempSync(path.join(tmpdir(), "hitrail-web-stale-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const at = (file: string, seconds: number) => {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, "x");
  utimesSync(file, seconds, seconds);
};

describe("dashboardBuildStaleness: pnpm start rebuilds the dashboard when its sources changed", () => {
  const dist = path.join(root, "dist");
  const src = path.join(root, "src");
  const server = path.join(src, "server");

  it("says so when it was never built", () => {
    at(path.join(src, "app.tsx"), 1_000);
    expect(dashboardBuildStaleness(dist, [src], server)).toMatch(/never been built/);
  });

  it("is current when every source is older than the build", () => {
    at(path.join(dist, "index.html"), 2_000);
    expect(dashboardBuildStaleness(dist, [src], server)).toBeNull();
  });

  it("names the source that changed after the build (a git pull)", () => {
    at(path.join(src, "screens", "reports.tsx"), 3_000);
    expect(dashboardBuildStaleness(dist, [src], server)).toBe(
      `${path.join("src", "screens", "reports.tsx")} changed after the last build`,
    );
  });

  it("ignores the server code, which is not part of the bundle", () => {
    at(path.join(dist, "index.html"), 4_000);
    at(path.join(server, "index.ts"), 5_000);
    expect(dashboardBuildStaleness(dist, [src], server)).toBeNull();
  });
});
