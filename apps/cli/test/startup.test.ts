import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const tsx = `${root}node_modules/.bin/tsx`;

describe("a wrong DATABASE_URL", () => {
  it.each(["tracker", "api", "worker"])("makes the %s exit non-zero with a one-line reason", (app) => {
    const result = spawnSync(tsx, [`apps/${app}/src/main.ts`], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: "postgres://nobody@127.0.0.1:1/nothing",
        MAINTENANCE_DATABASE_URL: "postgres://nobody@127.0.0.1:1/nothing",
        REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
        REDIS_PREFIX: `hitrail-test:startup-${app}`,
        TRACKER_PORT: "0",
        API_PORT: "0",
        WORKER_PORT: "0",
      },
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^hitrail ${app}: .*connection refused at 127\\.0\\.0\\.1:1`));
  });

  it("is refused before connecting when it is not a postgres URL", () => {
    const result = spawnSync(tsx, ["apps/tracker/src/main.ts"], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000,
      env: { PATH: process.env.PATH, DATABASE_URL: "mysql://x", LOG_LEVEL: "loud" },
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'hitrail tracker: configuration: invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// URL; LOG_LEVEL Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent"',
    );
  });
});
