import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { fromRoot, readRepoFile, run, tempDir } from "./support/index.ts";

/**
 * What of infra/docker/Dockerfile can be exercised without a container engine: its pins, the files it
 * copies, and each step that runs our own code (turbo prune on this lockfile, the tsx copy, the
 * image's command and health check) run here against this checkout. The build itself runs in CI.
 */
const dockerfile = readRepoFile("infra/docker/Dockerfile");
const nodeApps = ["tracker", "api", "worker", "cli"];

const arg = (name: string): string | undefined =>
  dockerfile.match(new RegExp(`^ARG ${name}=(\\S+)$`, "m"))?.[1];
const stages = [...dockerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]);
const stage = (name: string): string => {
  const start = dockerfile.indexOf(` AS ${name}\n`);
  const next = dockerfile.indexOf("\nFROM ", start);
  return dockerfile.slice(start, next === -1 ? undefined : next);
};

/** A .dockerignore pattern (Go filepath.Match plus `**`) as a regular expression over a path. */
function dockerignoreRegex(pattern: string): RegExp {
  const body = pattern
    .split("**/")
    .map((part) =>
      part
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*\*/g, ".*")
        .replace(/\*/g, "[^/]*")
        .replace(/\?/g, "[^/]"),
    )
    .join("(?:.*/)?");
  return new RegExp(`^${body}$`);
}

describe("infra/docker/Dockerfile", () => {
  it("pins the toolchain the repository pins", () => {
    const pkg = JSON.parse(readRepoFile("package.json")) as {
      packageManager: string;
      engines: { node: string };
    };
    const catalog = (parse(readRepoFile("pnpm-workspace.yaml")) as { catalog: Record<string, string> })
      .catalog;
    expect(`pnpm@${arg("PNPM_VERSION")}`).toBe(pkg.packageManager);
    expect(arg("TURBO_VERSION")).toBe(catalog.turbo);
    const nodeMajor = pkg.engines.node.match(/(\d+)/)?.[1];
    expect(arg("NODE_IMAGE")).toMatch(new RegExp(`^node:${nodeMajor}-(bookworm-slim|alpine)$`));
    // The same Caddy as the compose file and the Kubernetes edge.
    const caddy = arg("CADDY_IMAGE");
    expect(readRepoFile("infra/compose/docker-compose.yml")).toContain(`image: ${caddy}`);
    expect(readRepoFile("infra/k8s/base/serve/caddy.yaml")).toContain(`image: ${caddy}`);
  });

  it("builds apps from the pruned lockfile: frozen, production dependencies only in the image", () => {
    expect(stages).toEqual(["base", "prune", "deps", "toolchain", "tsx", "web-build", "web", "app"]);
    expect(stage("prune")).toMatch(/prune "@hitrail\/\$\{APP\}" --docker/);
    expect(stage("deps")).toContain("pnpm install --frozen-lockfile --prod");
    expect(stage("toolchain")).toContain("pnpm install --frozen-lockfile ");
    expect(stage("web-build")).toContain("pnpm --filter @hitrail/web build");
    // The runtime stages start from clean images and take only what they need.
    expect(stage("app")).toMatch(/^ AS app\nARG APP\n/);
    expect(stage("app")).toContain("COPY --from=deps /repo/ ./");
    expect(stage("app")).not.toContain("--from=toolchain");
  });

  it("runs every image as a non-root user, with a health check", () => {
    expect(stage("app")).toMatch(/^USER node$/m);
    expect(stage("web")).toMatch(/^USER 1000:1000$/m);
    for (const name of ["app", "web"]) {
      expect(stage(name), name).toMatch(/^HEALTHCHECK /m);
      expect(stage(name).indexOf("USER "), name).toBeLessThan(stage(name).indexOf("HEALTHCHECK"));
    }
    expect(stage("app")).toContain('CMD ["hitrail"]');
    // The apps listen on loopback unless HOST says otherwise: the image answers on all interfaces.
    expect(stage("app")).toMatch(/^ENV .*\bHOST=0\.0\.0\.0\b/m);
  });

  it("copies only files that exist and that .dockerignore lets into the build context", () => {
    const sources = [...dockerfile.matchAll(/^COPY (?:--\S+ )*(infra\/\S+) /gm)].map((m) => m[1]!);
    expect(sources.length).toBeGreaterThanOrEqual(4);
    const patterns = readRepoFile(".dockerignore")
      .split("\n")
      .filter((l) => l && !l.startsWith("#"));
    expect(patterns).toEqual(expect.arrayContaining(["**/node_modules", ".git", ".env"]));
    const ignored = (file: string) => patterns.some((p) => dockerignoreRegex(p).test(file));
    for (const source of sources) {
      expect(existsSync(fromRoot(source)), source).toBe(true);
      const parents = source.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"));
      expect(parents.filter(ignored), `${source} is ignored`).toEqual([]);
    }
    // The checks mean something: what must stay out is matched.
    expect(
      ["node_modules", "apps/api/node_modules", ".git", "infra/compose/.env", ".data"].every(ignored),
    ).toBe(true);
  });
});

describe("the image build steps, run here", () => {
  let out: { dir: string; remove: () => void };
  beforeAll(() => {
    out = tempDir("image");
  });
  afterAll(() => out.remove());

  it.each(nodeApps)(
    "turbo prune @hitrail/%s --docker keeps its lockfile entries, the catalog and build settings",
    (app) => {
      const dest = path.join(out.dir, `prune-${app}`);
      const result = run(
        fromRoot("node_modules/.bin/turbo"),
        ["prune", `@hitrail/${app}`, "--docker", "--out-dir", dest],
        {
          env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
        },
      );
      expect(result.status, result.stderr).toBe(0);
      const lock = parse(readFileSync(path.join(dest, "json/pnpm-lock.yaml"), "utf8")) as {
        importers: Record<
          string,
          { dependencies?: Record<string, unknown>; devDependencies?: Record<string, unknown> }
        >;
        catalogs?: { default?: Record<string, unknown> };
      };
      // The app, the root (tsx comes from there) and the workspace packages the app uses.
      expect(Object.keys(lock.importers)).toEqual(
        expect.arrayContaining([".", `apps/${app}`, "packages/config"]),
      );
      expect(lock.importers["."]?.devDependencies).toHaveProperty("tsx");
      expect(lock.catalogs?.default).toHaveProperty("tsx");
      // pnpm's settings (catalog, allowed build scripts) travel with the pruned workspace.
      const workspace = parse(readFileSync(path.join(dest, "json/pnpm-workspace.yaml"), "utf8")) as {
        catalog?: Record<string, string>;
        onlyBuiltDependencies?: string[];
      };
      expect(workspace.catalog?.tsx).toBeDefined();
      expect(workspace.onlyBuiltDependencies).toContain("esbuild");
      expect(existsSync(path.join(dest, `full/apps/${app}/src/main.ts`)), `apps/${app}/src/main.ts`).toBe(
        existsSync(fromRoot(`apps/${app}/src/main.ts`)),
      );
    },
  );

  it("copies tsx with what it needs, and the image's `hitrail` command runs the CLI with it", () => {
    const tsx = path.join(out.dir, "tsx");
    const copy = run("node", [fromRoot("infra/docker/copy-closure.mjs"), fromRoot("."), tsx, "tsx"]);
    expect(copy.status, copy.stderr).toBe(0);
    expect(copy.stdout).toMatch(/copied tsx@[\d.]+, esbuild@[\d.]+, @esbuild\/linux-x64@/);
    // As in the cli image: `hitrail <command>`, run from another directory, with only the copied tsx.
    const result = run("sh", [fromRoot("infra/docker/hitrail.sh"), "--help"], {
      cwd: out.dir,
      env: {
        PATH: process.env.PATH,
        HITRAIL_APP: "cli",
        HITRAIL_ROOT: fromRoot("."),
        TSX_LOADER: path.join(tsx, "node_modules/tsx/dist/loader.mjs"),
      },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain("Usage: hitrail");
    expect(result.stdout).toContain("migrate");
  });

  it("refuses to flatten a package it cannot find, naming it", () => {
    const result = run("node", [
      fromRoot("infra/docker/copy-closure.mjs"),
      fromRoot("."),
      path.join(out.dir, "x"),
      "no-such-package-hitrail",
    ]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("no-such-package-hitrail (needed by (asked)) is not installed");
  });

  describe("HEALTHCHECK (healthcheck.mjs)", () => {
    let server: Server;
    let port = 0;
    let answer = 200;
    beforeAll(async () => {
      server = createServer((req, res) => {
        res.statusCode = req.url === "/healthz" ? answer : 404;
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    // Asynchronous: the server answering it lives in this process.
    const check = (app: string, extra: Record<string, string> = {}) =>
      new Promise<number | null>((resolve, reject) => {
        const child = spawn("node", [fromRoot("infra/docker/healthcheck.mjs")], {
          env: { PATH: process.env.PATH, HITRAIL_APP: app, ...extra },
          stdio: "ignore",
        });
        child.on("error", reject);
        child.on("exit", (code) => resolve(code));
      });

    it("asks each app's /healthz on the port its environment gives", async () => {
      answer = 200;
      expect(await check("tracker", { TRACKER_PORT: String(port) })).toBe(0);
      expect(await check("api", { API_PORT: String(port) })).toBe(0);
      expect(await check("worker", { WORKER_PORT: String(port) })).toBe(0);
    });

    it("fails when the app answers an error or nothing listens", async () => {
      answer = 503;
      expect(await check("tracker", { TRACKER_PORT: String(port) })).toBe(1);
      answer = 200;
      expect(await check("api", { API_PORT: "1" })).toBe(1);
    });

    it("passes for the CLI image, which runs one-off commands", async () => {
      expect(await check("cli")).toBe(0);
    });
  });
});
