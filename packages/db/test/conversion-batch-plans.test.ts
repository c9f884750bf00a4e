import { PgDialect } from "drizzle-orm/pg-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BATCH_WRITE_TEXT, newId, openBatchConnection, pathsSql, storedSql } from "../src/index.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing/index.ts";
import { sql } from "../src/testing/sql.ts";

// The tracker's batch reads run on cached generic plans (BatchPlanning "keyed"). Such a plan is made
// once and kept while the tables grow under it, so it must probe keys even when it was made against
// empty tables, as in a new database or a new month's hits partition: these plans are read from a
// fresh database, the worst case.
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

/** The generic plan the batch's connection makes for a statement, as EXPLAIN prints it. */
async function genericPlan(
  conn: Awaited<ReturnType<typeof openBatchConnection>>["conn"],
  name: string,
  statement: ReturnType<typeof pathsSql> | string,
  args: string,
): Promise<string> {
  const text =
    typeof statement === "string"
      ? statement
      : new PgDialect({ casing: "snake_case" }).sqlToQuery(statement).sql;
  await conn.unsafe(`prepare ${name} as ${text}`);
  const rows = await conn.unsafe<Array<{ "QUERY PLAN": string }>>(`explain execute ${name}(${args})`);
  return rows.map((r) => r["QUERY PLAN"]).join("\n");
}

describe("the tracker's batch reads on generic plans made against empty tables", () => {
  it("find hits by primary key in every partition, stored conversions by their identity key, updates by primary key", async () => {
    const workspaceId = newId();
    const identity = { workspaceId, hitId: newId(), eventKey: "", tx: "T-1" };
    const batch = await openBatchConnection(t.app, { identities: [identity] }, workspaceId, [], "keyed");
    try {
      const [settings] = await batch.conn.unsafe(
        `select current_setting('plan_cache_mode') as mode, current_setting('enable_seqscan') as seq,
                current_setting('enable_hashjoin') as hash, current_setting('enable_mergejoin') as merge`,
      );
      expect(settings).toEqual({ mode: "force_generic_plan", seq: "off", hash: "off", merge: "off" });
      const paths = await genericPlan(
        batch.conn,
        "paths_plan",
        pathsSql([identity]),
        `'{${workspaceId}}', '{${identity.hitId}}', 64`,
      );
      const stored = await genericPlan(
        batch.conn,
        "stored_plan",
        storedSql([identity]),
        `'{${workspaceId}}', '{${identity.hitId}}', '{""}', '{T-1}'`,
      );
      // The tracker's whole write (the update of stored conversions and every insert), each of its
      // array parameters one row.
      const parameters = (BATCH_WRITE_TEXT.match(/\$\d+/g) ?? []).length;
      const update = await genericPlan(
        batch.conn,
        "update_plan",
        BATCH_WRITE_TEXT,
        Array.from({ length: parameters }, () => "'{NULL}'").join(", "),
      );
      expect(update).toMatch(/Index Scan using conversions_pkey on conversions/);
      for (const plan of [paths, stored, update]) {
        expect(plan).not.toMatch(/Seq Scan|Hash Join|Merge Join|Bitmap/);
        expect(plan).not.toMatch(/Hash Right|Hash Left|Hash Anti|Hash Semi/);
      }
      const hitScans = paths.split("\n").filter((line) => / on hits_/.test(line));
      const partitions = await t.db.execute<{ n: number }>(
        sql`select count(*)::int as n from pg_inherits where inhparent = 'hits'::regclass`,
      );
      // Each partition once for the converting hits and once for the steps back along the path.
      expect(hitScans).toHaveLength(2 * Number(partitions[0]?.n));
      for (const line of hitScans) expect(line).toMatch(/Index Scan using hits_\w+_pkey on hits_/);
      expect(stored).toMatch(/Index Scan Backward using conversions_identity_key on conversions/);
    } finally {
      await batch.rollback();
    }
  });
});
