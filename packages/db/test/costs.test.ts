import { spreadCost } from "@hitrail/core";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ApplyCostUpdateInput,
  applyCostUpdate,
  newIdAt,
  undoCostUpdate,
  withWorkspace,
} from "../src/index.ts";
import { createTestDatabase, factories, type TestDatabase } from "../src/testing/index.ts";
import { schema } from "../src/testing/sql.ts";

// The SQL that spreads a cost over a range's visits computes core's costShareMicros exactly, and
// cost updates are held to the workspace by row-level security like every tenant table.

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const DAY = "2026-03-10";

async function workspaceWithVisits(n: number) {
  const { workspace } = await factories.workspace(t.db);
  const kit = await factories.campaign(t.db, workspace.id);
  const start = Date.parse(`${DAY}T00:00:00Z`);
  // Spread through the day, inserted out of order: the spread follows visit time, not insert order.
  const times = Array.from(
    { length: n },
    (_, i) => start + Math.floor(((i + 0.5) * 86_400_000) / n),
  ).reverse();
  await t.db.insert(schema.hits).values(
    times.map((ms) => ({
      id: newIdAt(ms),
      workspaceId: workspace.id,
      visitorId: newIdAt(ms),
      funnelId: kit.funnelId,
      nodeId: kit.nodes.lander,
      pageId: kit.landerId,
      pageKind: "lander" as const,
      trafficSourceId: kit.trafficSourceId,
      createdAt: new Date(ms),
    })),
  );
  return { workspaceId: workspace.id, trafficSourceId: kit.trafficSourceId };
}

const input = (
  w: { workspaceId: string; trafficSourceId: string },
  amount: string,
): ApplyCostUpdateInput => ({
  workspaceId: w.workspaceId,
  scope: { trafficSourceId: w.trafficSourceId },
  timeZone: "UTC",
  localStart: `${DAY}T00:00`,
  localEnd: "2026-03-11T00:00",
  mode: "total",
  amount,
  origin: "api",
  actor: {},
});

describe("spreading a cost in SQL", () => {
  it.each([
    ["100", 7],
    ["0.05", 7],
    ["10", 24],
    ["12.345678", 5],
    ["999999.99", 13],
  ])("%s over %i visits: each visit's share is core's", async (amount, n) => {
    const w = await workspaceWithVisits(n);
    const shares = await withWorkspace(t.app.db, w.workspaceId, async (tx) => {
      const result = await applyCostUpdate(tx, input(w, amount));
      if (!result.ok) throw new Error("no visits");
      expect(result.update.visits).toBe(n);
      return tx.execute<{ amount: string }>(
        sql`select amount::text from cost_allocations where update_id = ${result.update.id} order by hit_id`,
      );
    });
    expect(shares.map((s) => spreadCost(s.amount, 1)[0])).toEqual(spreadCost(amount, n));
  });
});

describe("cost updates and tenancy", () => {
  it("another workspace neither sees nor undoes them", async () => {
    const a = await workspaceWithVisits(2);
    const b = await workspaceWithVisits(2);
    const update = await withWorkspace(t.app.db, a.workspaceId, async (tx) => {
      const r = await applyCostUpdate(tx, input(a, "4"));
      if (!r.ok) throw new Error("no visits");
      return r.update;
    });
    const seen = await withWorkspace(t.app.db, b.workspaceId, (tx) =>
      tx.execute<{ n: number }>(sql`select
        (select count(*) from cost_updates)::int + (select count(*) from cost_allocations)::int
        + (select count(*) from cost_rollups_hourly)::int as n`),
    );
    expect(seen[0]?.n).toBe(0);
    expect(
      await withWorkspace(t.app.db, b.workspaceId, (tx) =>
        undoCostUpdate(tx, { workspaceId: b.workspaceId, updateId: update.id, actor: {} }),
      ),
    ).toEqual({ ok: false, reason: "not_found" });
    // B's scope over A's traffic source finds none of A's visits.
    expect(
      await withWorkspace(t.app.db, b.workspaceId, (tx) =>
        applyCostUpdate(tx, { ...input(a, "4"), workspaceId: b.workspaceId }),
      ),
    ).toEqual({ ok: false, reason: "no_visits" });
  });
});
