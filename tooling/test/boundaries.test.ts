import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

// The package boundaries of STYLE.md, as `pnpm lint` enforces them: each row puts a deliberate
// violation (or a legitimate import) where a developer would write it and asks Biome, with the
// repository's own biome.json, which rules fire. A rule that silently stopped applying fails here.

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);

interface Case {
  where: string;
  source: string;
  fires: string[];
}

const CASES: Case[] = [
  {
    where: "packages/core/src",
    source: 'import { loadEnv } from "@hitrail/config";',
    fires: ["noRestrictedImports"],
  },
  { where: "packages/core/src", source: 'import { x } from "./money.ts";', fires: [] },
  {
    where: "packages/db/src",
    source: 'import { jobs } from "@hitrail/queue";',
    fires: ["noRestrictedImports"],
  },
  {
    where: "packages/queue/src",
    source: 'import { schema } from "@hitrail/db";',
    fires: ["noRestrictedImports"],
  },
  {
    where: "packages/db/src",
    source: 'import { startApi } from "@hitrail/api";',
    fires: ["noRestrictedImports"],
  },
  { where: "packages/db/src", source: 'import { decide } from "@hitrail/core";', fires: [] },
  {
    where: "apps/tracker/src",
    source: 'import { client } from "@hitrail/db/src/client.ts";',
    fires: ["noRestrictedImports"],
  },
  {
    where: "apps/tracker/src",
    source: 'import { client } from "../../../packages/db/src/client.ts";',
    fires: ["noRestrictedImports"],
  },
  {
    where: "apps/tracker/src",
    source: 'import { startApi } from "@hitrail/api";',
    fires: ["noRestrictedImports"],
  },
  {
    where: "apps/worker/src",
    source: 'import { x } from "@hitrail/tracker";',
    fires: ["noRestrictedImports"],
  },
  { where: "apps/tracker/src", source: 'import { withWorkspace } from "@hitrail/db";', fires: [] },
  { where: "apps/web/src", source: 'import type { AppRouter } from "@hitrail/api";', fires: [] },
  { where: "apps/api/test", source: 'import { createTestDatabase } from "@hitrail/db/testing";', fires: [] },
  // SQL only in packages/db: apps neither build queries nor open connections of their own.
  { where: "apps/worker/src", source: 'import { sql } from "drizzle-orm";', fires: ["noRestrictedImports"] },
  {
    where: "apps/api/src",
    source: 'import { drizzle } from "drizzle-orm/postgres-js";',
    fires: ["noRestrictedImports"],
  },
  { where: "apps/cli/src", source: 'import postgres from "postgres";', fires: ["noRestrictedImports"] },
  { where: "apps/web/src", source: 'import { eq } from "drizzle-orm";', fires: ["noRestrictedImports"] },
  {
    where: "apps/tracker/src",
    source: 'import { schema } from "@hitrail/db/schema";',
    fires: ["noRestrictedImports"],
  },
  {
    where: "apps/tracker/src",
    source: 'import { schema } from "@hitrail/db/testing/sql";',
    fires: ["noRestrictedImports"],
  },
  { where: "apps/worker/test", source: 'import { schema, sql } from "@hitrail/db/testing/sql";', fires: [] },
  { where: "apps/api/src", source: "const url = process.env.DATABASE_URL;", fires: ["noProcessEnv"] },
  { where: "packages/db/src", source: "const url = process.env.DATABASE_URL;", fires: ["noProcessEnv"] },
  { where: "packages/config/src", source: "const url = process.env.DATABASE_URL;", fires: [] },
  { where: "apps/api/test", source: "const url = process.env.DATABASE_URL;", fires: [] },
];

const tag = randomBytes(4).toString("hex");
const files = CASES.map((c, i) => path.join(c.where, `zz-lint-probe-${tag}-${i}.ts`));

afterAll(() => {
  for (const f of files) rmSync(path.join(ROOT, f), { force: true });
});

describe("package boundaries, as Biome enforces them", () => {
  it("fires exactly the expected boundary rules for each probe", async () => {
    CASES.forEach((c, i) => {
      writeFileSync(path.join(ROOT, files[i] as string), `${c.source}\nexport {};\n`);
    });
    const biome = path.join(ROOT, "node_modules/.bin/biome");
    const { stdout } = await run(biome, ["lint", "--reporter=json", ...files], { cwd: ROOT }).catch(
      (e: { stdout: string }) => ({ stdout: e.stdout }),
    );
    const report = JSON.parse(stdout) as {
      diagnostics: { category: string; location: { path: string } }[];
    };
    const boundary = ["noRestrictedImports", "noProcessEnv"];
    const fired = (file: string) =>
      report.diagnostics
        .filter((d) => d.location.path === file)
        .map((d) => d.category.split("/").pop() as string)
        .filter((r) => boundary.includes(r));
    CASES.forEach((c, i) => {
      expect(fired(files[i] as string), `${c.where}: ${c.source}`).toEqual(c.fires);
    });
  });
});
