import { mulberry32, normalizeMoney } from "@hitrail/core";
import {
  applyConversionRollup,
  contributionKey,
  type RollupContribution,
  recomputeRollups,
} from "@hitrail/db";
import { createTestDatabase, type TestDatabase } from "@hitrail/db/testing";
import { sql } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  changeConversion,
  createConversion,
  type HitRow,
  insertPath,
  seedTenant,
} from "./support/factory.ts";

// `hitrail rollups recompute` catches up conversions whose ledger is behind as sets. The reference
// is the path it replaced: each stale conversion applied on its own (applyConversionRollup), then
// the range rebuilt. Both run from the same saved state and must leave the same rollups, everywhere,
// and the same ledgers.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});

afterAll(async () => {
  await t?.drop();
});

async function rollupsOf(workspaceId: string) {
  const rows = await t.db.execute<Record<string, unknown>>(sql`
    select hour, funnel_id, node_id, page_id, traffic_source_id, country, device_type, os, browser, event_key,
           touch_kind, conversions, revenue::text as revenue
    from conversion_rollups_hourly
    where workspace_id = ${workspaceId} and (conversions <> 0 or revenue <> 0)
    order by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11`);
  return rows.map((r) => ({ ...r, hour: new Date(String(r.hour)).toISOString() }));
}

async function ledgersOf(workspaceId: string) {
  const rows = await t.db.execute<{ id: string; revision: number; contribution: RollupContribution[] }>(sql`
    select conversion_id as id, applied_revision as revision, contribution
    from conversion_rollup_state where workspace_id = ${workspaceId} order by conversion_id`);
  return rows.map((r) => ({
    id: r.id,
    revision: r.revision,
    contribution: r.contribution
      .map((c) => ({
        ...c,
        country: c.country ?? null,
        deviceType: c.deviceType ?? null,
        os: c.os ?? null,
        browser: c.browser ?? null,
        revenue: normalizeMoney(c.revenue),
      }))
      .sort((a, b) => (contributionKey(a) < contributionKey(b) ? -1 : 1)),
  }));
}

describe("set-based recompute", () => {
  it("leaves the same rollups and ledgers as applying each stale conversion on its own", async () => {
    const rng = mulberry32(20261207);
    const tenant = await seedTenant(t.db);
    const bystander = await seedTenant(t.db);
    const base = Date.UTC(2026, 3, 6);
    // Visits over four days; the recompute covers the middle two, so conversions in it credit
    // assisted visits outside it (up to 30 hours earlier) and the other way round.
    const conversions: string[] = [];
    for (const owner of [tenant, tenant, tenant, bystander]) {
      for (let i = 0; i < 12; i++) {
        const at = base + Math.floor(rng() * 4 * DAY);
        const { entry, lander, offer } = await insertPath(t.db, owner, {
          at,
          stepMs: Math.floor(rng() * 30 * HOUR),
        });
        const assisted: HitRow[] = rng() < 0.7 ? [lander, ...(rng() < 0.3 ? [entry] : [])] : [];
        const created = await createConversion(t.db, owner, {
          hit: offer,
          assisted,
          revenue: (rng() * 80).toFixed(rng() < 0.3 ? 6 : 2),
          tx: `tx-${i}`,
          eventKey: rng() < 0.25 ? "lead" : "",
          delivery: false,
        });
        if (owner === tenant) conversions.push(created.conversionId);
        // Some ledgers are up to date, some a revision behind, some never written.
        if (rng() < 0.5)
          await applyConversionRollup(t.db, {
            workspaceId: owner.workspaceId,
            conversionId: created.conversionId,
          });
      }
    }
    const live = new Map(conversions.map((id) => [id, true]));
    for (let step = 0; step < 60; step++) {
      const id = conversions[Math.floor(rng() * conversions.length)]!;
      const action = live.get(id) ? (rng() < 0.7 ? "update" : "reject") : "restore";
      await changeConversion(t.db, tenant, {
        conversionId: id,
        action,
        revenue: (rng() * 120).toFixed(3),
        delivery: false,
      });
      live.set(id, action !== "reject");
      if (rng() < 0.3)
        await applyConversionRollup(t.db, { workspaceId: tenant.workspaceId, conversionId: id });
    }
    const range = {
      workspaceId: tenant.workspaceId,
      from: new Date(base + DAY),
      to: new Date(base + 3 * DAY),
    };
    const before = {
      rollups: await rollupsOf(tenant.workspaceId),
      bystander: await rollupsOf(bystander.workspaceId),
    };

    await t.db.execute(sql`create table saved_ledgers as select * from conversion_rollup_state`);
    await t.db.execute(sql`create table saved_rollups as select * from conversion_rollups_hourly`);

    // The old path: one conversion at a time, then the rebuild (which then finds nothing stale).
    const stale = await t.db.execute<{ id: string }>(sql`
      with candidates as (
        select id from conversions where workspace_id = ${tenant.workspaceId}
          and hit_at >= ${range.from.toISOString()}::timestamptz and hit_at < ${range.to.toISOString()}::timestamptz
        union
        select conversion_id from touches where workspace_id = ${tenant.workspaceId}
          and hit_at >= ${range.from.toISOString()}::timestamptz and hit_at < ${range.to.toISOString()}::timestamptz
      )
      select c.id from candidates join conversions c on c.id = candidates.id
      left join conversion_rollup_state s on s.conversion_id = c.id
      where s.conversion_id is null or s.applied_revision < c.revision
      order by c.id`);
    expect(stale.length).toBeGreaterThan(5);
    for (const { id } of stale)
      await applyConversionRollup(t.db, { workspaceId: tenant.workspaceId, conversionId: id });
    expect((await recomputeRollups(t.db, range)).caughtUp).toBe(0);
    const oldPath = {
      rollups: await rollupsOf(tenant.workspaceId),
      ledgers: await ledgersOf(tenant.workspaceId),
    };
    // Deltas outside the range changed rows there too: the comparison covers them.
    expect(oldPath.rollups).not.toEqual(before.rollups);

    await t.db.execute(sql`delete from conversion_rollup_state`);
    await t.db.execute(sql`insert into conversion_rollup_state select * from saved_ledgers`);
    await t.db.execute(sql`delete from conversion_rollups_hourly`);
    await t.db.execute(sql`insert into conversion_rollups_hourly select * from saved_rollups`);

    const summary = await recomputeRollups(t.db, range);
    expect(summary.caughtUp).toBe(stale.length);
    expect(await rollupsOf(tenant.workspaceId)).toEqual(oldPath.rollups);
    expect(await ledgersOf(tenant.workspaceId)).toEqual(oldPath.ledgers);
    expect(await rollupsOf(bystander.workspaceId)).toEqual(before.bystander);

    // And the ledgers it wrote are ones the incremental path can build on: a later change applies
    // as a delta from them and the range's rollups match the raw rows again.
    const later = stale[0]!.id;
    await changeConversion(t.db, tenant, {
      conversionId: later,
      action: live.get(later) ? "reject" : "restore",
      revenue: "7.5",
      delivery: false,
    });
    expect(
      await applyConversionRollup(t.db, { workspaceId: tenant.workspaceId, conversionId: later }),
    ).toMatchObject({ status: "applied" });
    const incremental = await rollupsOf(tenant.workspaceId);
    await recomputeRollups(t.db, range);
    expect(await rollupsOf(tenant.workspaceId)).toEqual(incremental);
  });
});
