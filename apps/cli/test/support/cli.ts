import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createTestDatabase, type TestDatabase } from "@hitrail/db/testing";
import { afterAll, beforeAll } from "vitest";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const tsx = `${root}node_modules/.bin/tsx`;

/**
 * A database of the test file's own, and `pnpm hitrail …` run against it as a process from the
 * CLI's entry point, as an operator runs it (only PATH and the database in its environment).
 */
export function cliAgainstTestDatabase(): {
  db: () => TestDatabase;
  hitrail: (args: string[]) => SpawnSyncReturns<string>;
} {
  let t: TestDatabase | undefined;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t?.drop();
  });
  const db = () => {
    if (!t) throw new Error("the test database is made in beforeAll");
    return t;
  };
  return {
    db,
    hitrail: (args) =>
      spawnSync(tsx, ["apps/cli/src/main.ts", ...args], {
        cwd: root,
        encoding: "utf8",
        timeout: 60_000,
        env: { PATH: process.env.PATH, DATABASE_URL: db().appUrl, LOG_LEVEL: "silent" },
      }),
  };
}
