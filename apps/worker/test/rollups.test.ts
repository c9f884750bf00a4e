import { mulberry32 } from "@hitrail/core";
import {
  applyConversionRollup,
  type ConversionRollupRow,
  conversionRollupDrift,
  createDb,
  type DbClient,
  diffContributions,
  floorHour,
  listConversionRollups,
  listHitRollups,
  type RollupContribution,
  recomputeHitRollups,
  recomputeRollups,
} from "@hitrail/db";
import { createTestDatabase, type TestDatabase } from "@hitrail/db/testing";
import { schema, sql } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  changeConversion,
  createConversion,
  type HitRow,
  insertHit,
  insertPath,
  seedTenant,
  type Tenant,
} from "./support/factory.ts";
import { clearRedisPrefix, startTestWorker, waitFor } from "./support/harness.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let t: TestDatabase;
// A second pool, so concurrent appliers really run on separate connections.
let other: DbClient;

beforeAll(async () => {
  t = await createTestDatabase();
  other = createDb(t.appUrl, { max: 8 });
});

afterAll(async () => {
  await other?.close();
  await t?.drop();
});

const row = (over: Partial<RollupContribution>): RollupContribution => ({
  hour: "2026-05-17T10:00:00.000Z",
  funnelId: "f",
  nodeId: "n",
  pageId: null,
  trafficSourceId: null,
  eventKey: "",
  touchKind: "direct",
  conversions: 1,
  revenue: "10",
  ...over,
});

/** Stored rollups without zero rows and timestamps, in a stable order, for comparisons. */
function comparable(rows: ConversionRollupRow[]) {
  return rows
    .filter((r) => r.conversions !== 0 || Number(r.revenue) !== 0)
    .map((r) => ({
      hour: r.hour.toISOString(),
      nodeId: r.nodeId,
      pageId: r.pageId,
      trafficSourceId: r.trafficSourceId,
      eventKey: r.eventKey,
      touchKind: r.touchKind,
      conversions: r.conversions,
      revenue: r.revenue,
    }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

describe("contribution deltas", () => {
  it("is what to add to go from the applied contribution to the current one", () => {
    const applied = [row({ revenue: "10" }), row({ touchKind: "assisted", nodeId: "l", revenue: "10" })];
    const current = [
      row({ revenue: "12.345678" }),
      row({ touchKind: "assisted", nodeId: "l", revenue: "12.345678" }),
    ];
    expect(diffContributions(applied, current)).toEqual([
      row({ touchKind: "assisted", nodeId: "l", conversions: 0, revenue: "2.345678" }),
      row({ conversions: 0, revenue: "2.345678" }),
    ]);
  });

  it("takes everything out when the conversion is gone, and nothing when nothing changed", () => {
    const applied = [row({ revenue: "10" })];
    expect(diffContributions(applied, [])).toEqual([row({ conversions: -1, revenue: "-10" })]);
    expect(diffContributions(applied, applied)).toEqual([]);
  });

  it("sums rows with the same identity", () => {
    const twice = [
      row({ touchKind: "assisted", revenue: "1" }),
      row({ touchKind: "assisted", revenue: "1" }),
    ];
    expect(diffContributions([], twice)).toEqual([
      row({ touchKind: "assisted", conversions: 2, revenue: "2" }),
    ]);
  });
});

describe("conversion rollups", () => {
  it("credits late revenue to the hour of the visit, exactly once even when the job runs twice", async () => {
    const tenant = await seedTenant(t.db);
    const visit = Date.UTC(2026, 0, 10, 9, 30);
    const { lander, offer } = await insertPath(t.db, tenant, { at: visit, stepMs: 45 * 60_000 });
    const { conversionId } = await createConversion(t.db, tenant, {
      hit: offer,
      assisted: [lander],
      revenue: "0.01",
    });
    await applyConversionRollup(t.db, { workspaceId: tenant.workspaceId, conversionId });
    await changeConversion(t.db, tenant, { conversionId, action: "update", revenue: "37.42" });
    const first = await applyConversionRollup(t.db, { workspaceId: tenant.workspaceId, conversionId });
    const again = await applyConversionRollup(t.db, { workspaceId: tenant.workspaceId, conversionId });
    expect(first).toMatchObject({ status: "applied", revision: 2 });
    expect(again).toEqual({ status: "unchanged", revision: 2 });

    const rows = await listConversionRollups(t.db, {
      workspaceId: tenant.workspaceId,
      from: new Date(visit - DAY),
      to: new Date(visit + DAY),
    });
    expect(rows.map((r) => [r.hour.toISOString(), r.touchKind, r.pageId, r.conversions, r.revenue])).toEqual([
      ["2026-01-10T09:00:00.000Z", "assisted", tenant.kit.landerId, 1, "37.420000"],
      ["2026-01-10T10:00:00.000Z", "direct", tenant.kit.offerIds[0], 1, "37.420000"],
    ]);
  });

  it("takes a rejected conversion out and puts a restored one back", async () => {
    const tenant = await seedTenant(t.db);
    const visit = Date.UTC(2026, 0, 11, 14, 5);
    const { offer } = await insertPath(t.db, tenant, { at: visit });
    const { conversionId } = await createConversion(t.db, tenant, { hit: offer, revenue: "20" });
    const range = { workspaceId: tenant.workspaceId, from: new Date(visit - DAY), to: new Date(visit + DAY) };
    await applyConversionRollup(t.db, { workspaceId: tenant.workspaceId, conversionId });
    await changeConversion(t.db, tenant, { conversionId, action: "reject" });
    await applyConversionRollup(t.db, { workspaceId: tenant.workspaceId, conversionId });
    expect(comparable(await listConversionRollups(t.db, range))).toEqual([]);
    await changeConversion(t.db, tenant, { conversionId, action: "restore", revenue: "25" });
    await applyConversionRollup(t.db, { workspaceId: tenant.workspaceId, conversionId });
    expect(
      comparable(await listConversionRollups(t.db, range)).map((r) => [r.conversions, r.revenue]),
    ).toEqual([[1, "25.000000"]]);
  });

  it("ignores a job naming another workspace's conversion", async () => {
    const a = await seedTenant(t.db);
    const b = await seedTenant(t.db);
    const { offer } = await insertPath(t.db, a, { at: Date.UTC(2026, 0, 12, 8) });
    const { conversionId } = await createConversion(t.db, a, { hit: offer, revenue: "5" });
    expect(await applyConversionRollup(t.db, { workspaceId: b.workspaceId, conversionId })).toEqual({
      status: "missing",
    });
    const [state] = await t.db.execute<{ n: number }>(
      sql`select count(*)::int as n from conversion_rollup_state where conversion_id = ${conversionId}`,
    );
    expect(state?.n).toBe(0);
  });

  it("matches a full recompute to the cent after a storm of updates, rejections, retries and races", async () => {
    const rng = mulberry32(20260517);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    const tenant = await seedTenant(t.db);
    const bystander = await seedTenant(t.db);
    const base = Date.UTC(2026, 1, 3, 0, 0);
    const range = { from: new Date(base - DAY), to: new Date(base + 4 * DAY) };

    // 30 conversions on visits spread over three days; some credit an earlier lander visit.
    const conversions: Array<{ tenant: Tenant; id: string }> = [];
    for (const owner of [tenant, tenant, tenant, bystander]) {
      for (let i = 0; i < (owner === bystander ? 6 : 8); i++) {
        const at = base + Math.floor(rng() * 3 * DAY);
        const { lander, offer } = await insertPath(t.db, owner, { at, stepMs: Math.floor(rng() * 3 * HOUR) });
        const assisted: HitRow[] = rng() < 0.6 ? [lander] : [];
        const created = await createConversion(t.db, owner, {
          hit: offer,
          assisted,
          revenue: (rng() * 50).toFixed(2),
          tx: `tx-${i}`,
          eventKey: rng() < 0.2 ? "lead" : "",
          delivery: false,
        });
        conversions.push({ tenant: owner, id: created.conversionId });
      }
    }

    // Every change is a job; jobs run late, twice, out of order and concurrently.
    const pending: Array<{ tenant: Tenant; id: string }> = [];
    const runSome = async () => {
      const batch = pending.splice(0, Math.floor(rng() * pending.length));
      for (let i = 0; i < 3; i++) if (batch.length > 0) batch.push(pick(batch)); // duplicates
      batch.sort(() => rng() - 0.5);
      await Promise.all(
        batch.map((job, i) =>
          applyConversionRollup(i % 2 === 0 ? t.db : other.db, {
            workspaceId: job.tenant.workspaceId,
            conversionId: job.id,
          }),
        ),
      );
    };
    for (const c of conversions) pending.push(c);

    const live = new Map(conversions.map((c) => [c.id, true]));
    for (let step = 0; step < 150; step++) {
      const c = pick(conversions);
      const r = rng();
      const action = live.get(c.id) ? (r < 0.75 ? "update" : "reject") : "restore";
      const cents = Math.floor(rng() * 1_000_000);
      await changeConversion(t.db, c.tenant, {
        conversionId: c.id,
        action,
        revenue: `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}${rng() < 0.3 ? "1234" : ""}`,
        delivery: false,
      });
      live.set(c.id, action !== "reject");
      pending.push(c);
      if (rng() < 0.3) await runSome();
      // Operator recomputes in the middle of it all, racing the appliers.
      if (step % 50 === 25) {
        await Promise.all([
          recomputeRollups(other.db, { workspaceId: tenant.workspaceId, ...range }),
          runSome(),
        ]);
      }
    }
    // The queue drains: every job runs at least once more, some twice at the same time.
    await Promise.all([
      ...conversions.map((c) =>
        applyConversionRollup(t.db, { workspaceId: c.tenant.workspaceId, conversionId: c.id }),
      ),
      ...conversions
        .slice(0, 10)
        .map((c) =>
          applyConversionRollup(other.db, { workspaceId: c.tenant.workspaceId, conversionId: c.id }),
        ),
    ]);

    for (const owner of [tenant, bystander]) {
      expect(await conversionRollupDrift(t.db, { workspaceId: owner.workspaceId, ...range })).toEqual([]);
    }
    const incremental = comparable(
      await listConversionRollups(t.db, { workspaceId: tenant.workspaceId, ...range }),
    );
    const bystanderBefore = comparable(
      await listConversionRollups(t.db, { workspaceId: bystander.workspaceId, ...range }),
    );

    // An independent tally from the raw rows: direct rows carry every live conversion once.
    const [raw] = await t.db.execute<{ n: number; revenue: string }>(sql`
      select count(*)::int as n, coalesce(sum(revenue), 0)::text as revenue from conversions
      where workspace_id = ${tenant.workspaceId} and deleted_at is null`);
    const direct = incremental.filter((r) => r.touchKind === "direct");
    expect(direct.reduce((n, r) => n + r.conversions, 0)).toBe(raw?.n);
    const cents = (s: string) => Math.round(Number(s) * 1_000_000);
    expect(direct.reduce((sum, r) => sum + cents(r.revenue), 0)).toBe(cents(raw?.revenue ?? "0"));

    const summary = await recomputeRollups(t.db, { workspaceId: tenant.workspaceId, ...range });
    expect(summary.caughtUp).toBe(0);
    expect(
      comparable(await listConversionRollups(t.db, { workspaceId: tenant.workspaceId, ...range })),
    ).toEqual(incremental);
    // The other workspace was neither recomputed nor disturbed.
    expect(
      comparable(await listConversionRollups(t.db, { workspaceId: bystander.workspaceId, ...range })),
    ).toEqual(bystanderBefore);
  });

  it("applies a conversion whose job has not run yet before rebuilding, so the job adds nothing after", async () => {
    const tenant = await seedTenant(t.db);
    const visit = Date.UTC(2026, 2, 1, 18, 20);
    const { offer } = await insertPath(t.db, tenant, { at: visit });
    const { conversionId } = await createConversion(t.db, tenant, { hit: offer, revenue: "8" });
    const range = {
      workspaceId: tenant.workspaceId,
      from: new Date(visit - HOUR),
      to: new Date(visit + HOUR),
    };
    const summary = await recomputeRollups(t.db, range);
    expect(summary).toMatchObject({ workspaces: 1, caughtUp: 1, conversionRows: 1 });
    expect(await applyConversionRollup(t.db, { workspaceId: tenant.workspaceId, conversionId })).toEqual({
      status: "unchanged",
      revision: 1,
    });
    expect(comparable(await listConversionRollups(t.db, range)).map((r) => r.revenue)).toEqual(["8.000000"]);
  });
});

describe("rollup jobs through the worker", () => {
  it("applies the outbox's rollup jobs, duplicates and retries included, to match the raw rows", async () => {
    const worker = await startTestWorker(t, { queues: ["rollups"] });
    try {
      const tenant = await seedTenant(t.db);
      const visit = Date.UTC(2026, 2, 5, 7, 0);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { lander, offer } = await insertPath(t.db, tenant, { at: visit + i * HOUR });
        const c = await createConversion(t.db, tenant, {
          hit: offer,
          assisted: [lander],
          revenue: "1.5",
          delivery: false,
        });
        ids.push(c.conversionId);
      }
      for (const id of ids) {
        await changeConversion(t.db, tenant, {
          conversionId: id,
          action: "update",
          revenue: "2.75",
          delivery: false,
        });
      }
      await changeConversion(t.db, tenant, { conversionId: ids[0]!, action: "reject", delivery: false });
      // A re-sent job (same job id, deduplicated) and a retried one under another id.
      await t.db.insert(schema.outbox).values([
        {
          workspaceId: tenant.workspaceId,
          topic: "rollup.conversion",
          jobId: `rollup-${ids[1]}-r2`,
          payload: { workspaceId: tenant.workspaceId, conversionId: ids[1], revision: 2 },
        },
        {
          workspaceId: tenant.workspaceId,
          topic: "rollup.conversion",
          jobId: `rollup-${ids[1]}-r1-retry`,
          payload: { workspaceId: tenant.workspaceId, conversionId: ids[1], revision: 1 },
        },
      ]);
      const range = {
        workspaceId: tenant.workspaceId,
        from: new Date(visit - DAY),
        to: new Date(visit + DAY),
      };
      await waitFor(
        async () => {
          const [o] = await t.db.execute<{ n: number }>(
            sql`select count(*)::int as n from outbox where relayed_at is null`,
          );
          const counts = await worker.queues.get("rollups").getJobCounts("waiting", "active", "delayed");
          const busy = (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0);
          return o?.n === 0 && busy === 0;
        },
        { what: "rollup jobs to drain" },
      );
      expect(await conversionRollupDrift(t.db, range)).toEqual([]);
      const direct = comparable(await listConversionRollups(t.db, range)).filter(
        (r) => r.touchKind === "direct",
      );
      expect(direct.map((r) => [r.conversions, r.revenue])).toEqual(Array(4).fill([1, "2.750000"]));
    } finally {
      await worker.close();
      await clearRedisPrefix(worker.prefix);
    }
  });
});

describe("visit rollups", () => {
  it("rebuilds an hour from raw hits, idempotently, per workspace or for all", async () => {
    const a = await seedTenant(t.db);
    const b = await seedTenant(t.db);
    const h = Date.UTC(2026, 2, 9, 13, 0);
    await insertHit(t.db, a, {
      node: "entry",
      at: h + 60_000,
      cost: "0.25",
      country: "DE",
      deviceType: "mobile",
    });
    await insertHit(t.db, a, {
      node: "entry",
      at: h + 120_000,
      cost: "0.25",
      country: "DE",
      deviceType: "mobile",
    });
    await insertHit(t.db, a, {
      node: "entry",
      at: h + 180_000,
      country: "DE",
      deviceType: "mobile",
      isBot: true,
    });
    const lander = await insertHit(t.db, a, { node: "lander", at: h + HOUR + 5, country: "FR" });
    // A click out of that lander to an offer, and a reload of the lander (not a click).
    await insertHit(t.db, a, {
      node: "offerA",
      at: h + HOUR + 50,
      country: "FR",
      visitorId: lander.visitorId,
      prevHitId: lander.id,
    });
    await insertHit(t.db, a, {
      node: "lander",
      at: h + HOUR + 60,
      country: "FR",
      visitorId: lander.visitorId,
      prevHitId: lander.id,
    });
    await insertHit(t.db, b, { node: "entry", at: h + 1_000, cost: "1" });

    const range = { from: new Date(h), to: new Date(h + 2 * HOUR) };
    await recomputeHitRollups(t.db, range);
    await recomputeHitRollups(t.db, range);
    const rowsOf = async (workspaceId: string) =>
      (await listHitRollups(t.db, { workspaceId, ...range }))
        .map((r) => [
          r.hour.toISOString(),
          r.pageKind,
          r.country,
          r.deviceType,
          r.isBot,
          r.visits,
          r.entrances,
          r.actionClicks,
          r.uniqueNodeVisits,
          r.bots,
          r.cost,
        ])
        .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
    // Bots are rows of their own; the lander row holds its click (not the reload); the offer's and the
    // reload's hits are page views but no entrances.
    expect(await rowsOf(a.workspaceId)).toEqual([
      ["2026-03-09T13:00:00.000Z", "none", "DE", "mobile", false, 2, 2, 0, 2, 0, "0.500000"],
      ["2026-03-09T13:00:00.000Z", "none", "DE", "mobile", true, 1, 1, 0, 1, 1, "0.000000"],
      ["2026-03-09T14:00:00.000Z", "lander", "FR", null, false, 2, 1, 1, 1, 0, "0.000000"],
      ["2026-03-09T14:00:00.000Z", "offer", "FR", null, false, 1, 0, 0, 1, 0, "0.000000"],
    ]);

    // A late hit, then a rebuild of workspace B only, on the app role (which cannot sweep): A's rows
    // stay as they were, and B's hour is rebuilt as of the sweep's watermark.
    const landerVisits = async () =>
      (await listHitRollups(t.db, { workspaceId: a.workspaceId, ...range })).find(
        (r) => r.pageKind === "lander",
      )?.visits;
    await insertHit(t.db, a, { node: "lander", at: h + HOUR + 10, country: "FR" });
    await insertHit(t.db, b, { node: "entry", at: h + 2_000, cost: "1" });
    await recomputeHitRollups(t.app.db, { workspaceId: b.workspaceId, ...range });
    expect(await landerVisits()).toBe(2);
    expect(
      (await listHitRollups(t.db, { workspaceId: b.workspaceId, ...range })).map((r) => [r.visits, r.cost]),
    ).toEqual([[1, "1.000000"]]);
    // On a role that sees every workspace a recompute sweeps first: both late hits are in.
    await recomputeHitRollups(t.db, { workspaceId: b.workspaceId, ...range });
    expect(await landerVisits()).toBe(3);
    expect(
      (await listHitRollups(t.db, { workspaceId: b.workspaceId, ...range })).map((r) => [r.visits, r.cost]),
    ).toEqual([[2, "2.000000"]]);
    await recomputeHitRollups(t.db, range);
    expect(await landerVisits()).toBe(3);
  });

  it("the rollup.hits job rebuilds the current and the previous hour as of the sweep's watermark", async () => {
    const now = Date.UTC(2026, 2, 10, 16, 30);
    const worker = await startTestWorker(t, {
      queues: ["rollups"],
      relay: false,
      sweep: false,
      now: () => now,
    });
    try {
      const tenant = await seedTenant(t.db);
      await insertHit(t.db, tenant, { node: "entry", at: now - HOUR, cost: "0.1" });
      await insertHit(t.db, tenant, { node: "entry", at: now - 2 * HOUR });
      await insertHit(t.db, tenant, { node: "entry", at: now });
      const range = {
        workspaceId: tenant.workspaceId,
        from: floorHour(new Date(now - 3 * HOUR)),
        to: new Date(now + HOUR),
      };
      await worker.sweeper.sweepHitsOnce();
      const swept = await listHitRollups(t.db, range);
      // The sweep counts every hit that committed, whatever its hour.
      expect(swept.map((r) => [r.hour.toISOString(), r.visits])).toEqual([
        ["2026-03-10T14:00:00.000Z", 1],
        ["2026-03-10T15:00:00.000Z", 1],
        ["2026-03-10T16:00:00.000Z", 1],
      ]);
      // Rows gone wrong (an operator's mistake): the job puts back the last two hours; it sweeps
      // first, so a hit written since is in, and the next sweep does not count it again.
      await t.db.execute(
        sql`update hit_rollups_hourly set visits = 99 where workspace_id = ${tenant.workspaceId}`,
      );
      await insertHit(t.db, tenant, { node: "entry", at: now + 1_000 });
      const job = await worker.queues.enqueue("rollup.hits", {});
      await waitFor(async () => (await worker.queues.get("rollups").getJobState(job)) === "completed", {
        what: "rollup.hits to complete",
      });
      expect((await listHitRollups(t.db, range)).map((r) => [r.hour.toISOString(), r.visits])).toEqual([
        ["2026-03-10T14:00:00.000Z", 99],
        ["2026-03-10T15:00:00.000Z", 1],
        ["2026-03-10T16:00:00.000Z", 2],
      ]);
      expect(await worker.sweeper.sweepHitsOnce()).toEqual({ status: "swept", hits: 0, rows: 0 });
      expect((await listHitRollups(t.db, range)).map((r) => r.visits)).toEqual([99, 1, 2]);
    } finally {
      await worker.close();
      await clearRedisPrefix(worker.prefix);
    }
  });
});
