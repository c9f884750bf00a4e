import { newId } from "@hitrail/db";
import { eq, schema, sql } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HitRow } from "../src/hit-writer.ts";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";

let h: TrackerHarness;
beforeAll(async () => {
  h = await createTrackerHarness();
});
afterAll(async () => {
  await h?.close();
});

const row = (workspaceId: string): HitRow => ({
  id: newId(),
  workspaceId,
  visitorId: newId(),
  funnelId: newId(),
  nodeId: newId(),
  pageKind: "lander",
  createdAt: new Date(),
});

describe("HitWriter", () => {
  it("commits concurrent writes in few multi-row batches", async () => {
    const ws = newId();
    const before = h.deps.hits.stats.batches;
    const outcomes = await Promise.all(Array.from({ length: 1_200 }, () => h.deps.hits.write(row(ws))));
    expect(outcomes.every((o) => o === "committed")).toBe(true);
    const [count] = await h.t.db
      .select({ n: sql<number>`count(*)::int` })
      .from(schema.hits)
      .where(eq(schema.hits.workspaceId, ws));
    expect(count?.n).toBe(1_200);
    expect(h.deps.hits.stats.batches - before).toBeLessThan(20);
    // Each row names the transaction that wrote it, which the visit-rollup sweep reads: the JSON
    // insert fills columns the JSON does not name from its base row, not from the table's defaults.
    const [xids] = await h.t.db.execute<{ missing: number; batches: number }>(sql`
      select count(*) filter (where ingest_xid is null)::int as missing, count(distinct ingest_xid)::int as batches
      from hits where workspace_id = ${ws}`);
    expect(xids).toEqual({ missing: 0, batches: h.deps.hits.stats.batches - before });
  });

  it("replays spooled hits in order, exactly once, even if a spooled hit had also committed", async () => {
    const ws = newId();
    const rows = Array.from({ length: 30 }, () => row(ws));
    // A batch whose commit timed out may still have committed: spool it anyway, as the writer does.
    await h.t.db.insert(schema.hits).values(rows.slice(0, 10));
    for (const r of rows) await h.redis.xadd(h.deps.hits.spoolKey, "*", "hit", JSON.stringify(r));
    const moved = await h.deps.hits.replayOnce();
    expect(moved).toBe(30);
    expect(await h.deps.hits.spoolLength()).toBe(0);
    const stored = await h.t.db
      .select({ id: schema.hits.id })
      .from(schema.hits)
      .where(eq(schema.hits.workspaceId, ws));
    expect(stored.map((s) => s.id).sort()).toEqual(rows.map((r) => r.id).sort());
  });

  it("commits a batch spanning workspaces as the apps' role, under each row's workspace setting", async () => {
    // The tracker connects as a role row-level security holds (docs/security-tenancy.md).
    const [role] = await h.deps.db.sql<{ super: boolean; bypass: boolean }[]>`
      select rolsuper as super, rolbypassrls as bypass from pg_roles where rolname = current_user`;
    expect(role).toEqual({ super: false, bypass: false });
    const [a, b, c] = [newId(), newId(), newId()];
    const before = h.deps.hits.stats.batches;
    const outcomes = await Promise.all(
      [a, b, c].flatMap((ws) => Array.from({ length: 50 }, () => h.deps.hits.write(row(ws)))),
    );
    expect(outcomes.every((o) => o === "committed")).toBe(true);
    expect(h.deps.hits.stats.batches - before).toBeLessThan(10);
    const stored = await h.t.db
      .select({ ws: schema.hits.workspaceId, n: sql<number>`count(*)::int` })
      .from(schema.hits)
      .where(sql`${schema.hits.workspaceId} in (${a}, ${b}, ${c})`)
      .groupBy(schema.hits.workspaceId);
    expect(stored.map((s) => s.n)).toEqual([50, 50, 50]);
    // Without the setting the tracker's role sees none of them.
    expect(await h.deps.db.sql`select 1 from hits where workspace_id in (${a}, ${b}, ${c})`).toHaveLength(0);
  });
});
