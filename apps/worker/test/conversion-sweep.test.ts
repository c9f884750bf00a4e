import { mulberry32 } from "@hitrail/core";
import {
  applyConversionRollup,
  type ConversionRollupRow,
  conversionRollupDrift,
  createDb,
  type DbClient,
  listConversionRollups,
  recomputeConversionRollups,
  recomputeRollups,
  settleConversionRollupLedger,
  sweepConversionRollups,
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
  type Tenant,
} from "./support/factory.ts";
import { storedFieldConversions } from "./support/field-rows.ts";
import { openTransaction } from "./support/open-transaction.ts";

// The conversion rollup sweep, driven by hand: every pass is a call, no test waits for a clock.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let t: TestDatabase;
// The worker's sweep runs on the maintenance role; two pools so two sweeps really run at once.
let maintenance: DbClient;
let maintenance2: DbClient;
// A third pool, for transactions held open while the sweep runs.
let other: DbClient;

beforeAll(async () => {
  t = await createTestDatabase();
  maintenance = createDb(t.maintenanceUrl, { max: 2 });
  maintenance2 = createDb(t.maintenanceUrl, { max: 2 });
  other = createDb(t.url, { max: 4 });
});

afterAll(async () => {
  await maintenance?.close();
  await maintenance2?.close();
  await other?.close();
  await t?.drop();
});

const sweep = () => sweepConversionRollups(maintenance.db, { wait: true });

/** Stored rollups without zero rows and timestamps, in a stable order. */
function comparable(rows: ConversionRollupRow[]) {
  return rows
    .filter((r) => r.conversions !== 0 || Number(r.revenue) !== 0)
    .map(({ updatedAt: _u, ...r }) => ({ ...r, hour: r.hour.toISOString() }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

async function stored(tenant: Tenant, range: { from: Date; to: Date }) {
  return comparable(await listConversionRollups(t.db, { workspaceId: tenant.workspaceId, ...range }));
}

/** The rollups agree with a recompute from raw rows, to the cent, for every tenant given. */
async function expectExact(tenants: Tenant[], range: { from: Date; to: Date }) {
  for (const tenant of tenants) {
    expect(await conversionRollupDrift(t.db, { workspaceId: tenant.workspaceId, ...range })).toEqual([]);
  }
}

/** The rows a fresh rebuild writes: drop the tenant's rollups and ledgers, recompute, read. */
async function rebuilt(tenant: Tenant, range: { from: Date; to: Date }) {
  await t.db.execute(sql`delete from conversion_rollups_hourly where workspace_id = ${tenant.workspaceId}`);
  await t.db.execute(sql`delete from conversion_rollup_state where workspace_id = ${tenant.workspaceId}`);
  await recomputeConversionRollups(t.db, { workspaceId: tenant.workspaceId, ...range });
  return stored(tenant, range);
}

describe("conversion rollup sweep", () => {
  it("applies new, updated, rejected, restored and repeated conversions exactly once, as a rebuild would", async () => {
    const a = await seedTenant(t.db);
    const b = await seedTenant(t.db);
    const visit = Date.UTC(2026, 3, 2, 9, 30);
    const range = { from: new Date(visit - DAY), to: new Date(visit + DAY) };
    await sweep(); // start from a clean watermark

    const pathA = await insertPath(t.db, a, {
      at: visit,
      stepMs: 45 * 60_000,
      trackingFields: { zone: "z1" },
    });
    const pathA2 = await insertPath(t.db, a, { at: visit + 2 * HOUR, trackingFields: { zone: "z2" } });
    const pathB = await insertPath(t.db, b, { at: visit });
    const kept = await createConversion(t.db, a, {
      hit: pathA.offer,
      assisted: [pathA.lander],
      revenue: "10",
    });
    const rejected = await createConversion(t.db, a, { hit: pathA2.offer, revenue: "4.5", tx: "T2" });
    const third = await createConversion(t.db, b, { hit: pathB.offer, revenue: "3" });
    // Late revenue, a repeat of the same postback, a rejection: all before the next pass.
    await changeConversion(t.db, a, { conversionId: kept.conversionId, action: "update", revenue: "12.25" });
    await changeConversion(t.db, a, { conversionId: kept.conversionId, action: "update", revenue: "12.25" });
    await changeConversion(t.db, a, { conversionId: rejected.conversionId, action: "reject" });

    expect(await sweep()).toEqual({ status: "swept", revisions: 6, conversions: 3, rows: 3 });
    await expectExact([a, b], range);
    expect((await stored(a, range)).map((r) => [r.hour, r.touchKind, r.conversions, r.revenue])).toEqual([
      ["2026-04-02T09:00:00.000Z", "assisted", 1, "12.250000"],
      ["2026-04-02T10:00:00.000Z", "direct", 1, "12.250000"],
    ]);
    const afterFirst = await stored(a, range);

    // Nothing new: nothing read, nothing added. A rollup job queued before the upgrade finds the
    // ledger up to date.
    expect(await sweep()).toEqual({ status: "swept", revisions: 0, conversions: 0, rows: 0 });
    expect(
      await applyConversionRollup(t.db, { workspaceId: a.workspaceId, conversionId: kept.conversionId }),
    ).toEqual({ status: "unchanged", revision: 3 });
    expect(await stored(a, range)).toEqual(afterFirst);

    // The rejected one comes back with new revenue; the kept one is deleted (rev=-1); b updates.
    await changeConversion(t.db, a, { conversionId: rejected.conversionId, action: "restore", revenue: "6" });
    await changeConversion(t.db, a, { conversionId: kept.conversionId, action: "reject" });
    await changeConversion(t.db, b, { conversionId: third.conversionId, action: "update", revenue: "3.5" });
    expect(await sweep()).toMatchObject({ status: "swept", revisions: 3, conversions: 3 });
    await expectExact([a, b], range);
    expect((await stored(a, range)).map((r) => [r.hour, r.touchKind, r.conversions, r.revenue])).toEqual([
      [expect.any(String), "direct", 1, "6.000000"],
    ]);

    // A job that ran first leaves the sweep nothing to add for that conversion.
    await changeConversion(t.db, b, { conversionId: third.conversionId, action: "update", revenue: "9" });
    await applyConversionRollup(t.db, { workspaceId: b.workspaceId, conversionId: third.conversionId });
    expect(await sweep()).toEqual({ status: "swept", revisions: 1, conversions: 0, rows: 0 });
    await expectExact([a, b], range);

    const incremental = await stored(a, range);
    const byField = await storedFieldConversions(t.db, a.workspaceId);
    expect(byField.hours.length).toBeGreaterThan(0);
    expect(await rebuilt(a, range)).toEqual(incremental);
    // The conversions by tracking field too.
    expect(await storedFieldConversions(t.db, a.workspaceId)).toEqual(byField);
  });

  it("two sweeps at once, racing rollup jobs and a recompute, still count every change once", async () => {
    const rng = mulberry32(20261207);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    const a = await seedTenant(t.db);
    const b = await seedTenant(t.db);
    const base = Date.UTC(2026, 4, 3);
    const range = { from: new Date(base - DAY), to: new Date(base + 4 * DAY) };
    const conversions: Array<{ tenant: Tenant; id: string }> = [];
    for (const owner of [a, a, b]) {
      for (let i = 0; i < 6; i++) {
        const { lander, offer } = await insertPath(t.db, owner, {
          at: base + Math.floor(rng() * 3 * DAY),
          stepMs: Math.floor(rng() * 3 * HOUR),
          ...(conversions.length % 4 === 3 ? {} : { trackingFields: { zone: `z${conversions.length % 3}` } }),
        });
        const assisted: HitRow[] = rng() < 0.6 ? [lander] : [];
        const c = await createConversion(t.db, owner, {
          hit: offer,
          assisted,
          revenue: (rng() * 50).toFixed(2),
          tx: `tx-${conversions.length}`,
          delivery: false,
        });
        conversions.push({ tenant: owner, id: c.conversionId });
      }
    }
    const live = new Map(conversions.map((c) => [c.id, true]));
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < 6; i++) {
        const c = pick(conversions);
        const action = live.get(c.id) ? (rng() < 0.75 ? "update" : "reject") : "restore";
        await changeConversion(t.db, c.tenant, {
          conversionId: c.id,
          action,
          revenue: (rng() * 80).toFixed(rng() < 0.3 ? 6 : 2),
          delivery: false,
        });
        live.set(c.id, action !== "reject");
      }
      const job = pick(conversions);
      const results = await Promise.all([
        sweepConversionRollups(maintenance.db, { wait: true }),
        sweepConversionRollups(maintenance2.db, { wait: round % 2 === 0 }),
        applyConversionRollup(other.db, { workspaceId: job.tenant.workspaceId, conversionId: job.id }),
        round === 4 ? recomputeRollups(t.db, { workspaceId: a.workspaceId, ...range }) : null,
      ]);
      // Busy is an answer too: the waiting sweep then did the work.
      expect(["swept", "busy"]).toContain(results[1].status);
    }
    expect((await sweep()).status).toBe("swept");
    await expectExact([a, b], range);
    const incremental = await stored(a, range);
    const byField = await storedFieldConversions(t.db, a.workspaceId);
    expect(byField.hours.length).toBeGreaterThan(0);
    expect(await rebuilt(a, range)).toEqual(incremental);
    // The conversions by tracking field too.
    expect(await storedFieldConversions(t.db, a.workspaceId)).toEqual(byField);
  });

  it("reads a change its transaction commits after a later one was swept, and never a rolled-back one", async () => {
    const tenant = await seedTenant(t.db);
    const visit = Date.UTC(2026, 5, 4, 15, 10);
    const range = { from: new Date(visit - DAY), to: new Date(visit + DAY) };
    const paths: Array<Awaited<ReturnType<typeof insertPath>>> = [];
    for (let i = 0; i < 3; i++) paths.push(await insertPath(t.db, tenant, { at: visit + i * HOUR }));
    await sweep();

    // Two transactions write first (their xids are the older ones) and stay open while a third commits.
    const late = await openTransaction(other, (tx) =>
      createConversion(tx, tenant, { hit: paths[0]!.offer, revenue: "1", tx: "late" }),
    );
    const aborted = await openTransaction(other, (tx) =>
      createConversion(tx, tenant, { hit: paths[1]!.offer, revenue: "100", tx: "aborted" }),
    );
    await createConversion(t.db, tenant, { hit: paths[2]!.offer, revenue: "2", tx: "now" });
    expect(await sweep()).toMatchObject({ status: "swept", revisions: 1, conversions: 1 });
    await expectExact([tenant], range);

    await late.commit();
    await aborted.rollback();
    // The watermark moved past the third transaction, but it still lists the first as running.
    expect(await sweep()).toMatchObject({ status: "swept", revisions: 1, conversions: 1 });
    await expectExact([tenant], range);
    expect((await stored(tenant, range)).map((r) => r.revenue)).toEqual(["1.000000", "2.000000"]);
    expect(await sweep()).toMatchObject({ revisions: 0 });
  });

  it("leaves an import's revisions to the import's own settle and rebuild, and counts them once", async () => {
    const tenant = await seedTenant(t.db);
    const visit = Date.UTC(2026, 6, 5, 7, 45);
    const range = { from: new Date(visit - DAY), to: new Date(visit + DAY) };
    const { lander, offer } = await insertPath(t.db, tenant, { at: visit, stepMs: 2 * HOUR });
    await sweep();

    const imported = await createConversion(t.db, tenant, {
      hit: offer,
      assisted: [lander],
      revenue: "40",
      rollup: false,
      source: "import",
    });
    // The sweep runs while the import is still going: it reads nothing of it.
    expect(await sweep()).toEqual({ status: "swept", revisions: 0, conversions: 0, rows: 0 });
    expect(await stored(tenant, range)).toEqual([]);
    // The import's end: settle the ledgers, rebuild the range (what runImport does).
    await settleConversionRollupLedger(t.db, { workspaceId: tenant.workspaceId, ...range });
    await recomputeConversionRollups(t.db, { workspaceId: tenant.workspaceId, ...range });
    await expectExact([tenant], range);
    expect(await sweep()).toEqual({ status: "swept", revisions: 0, conversions: 0, rows: 0 });

    // A later postback for the imported conversion goes through the sweep, on top of the import's.
    await changeConversion(t.db, tenant, {
      conversionId: imported.conversionId,
      action: "update",
      revenue: "42",
      rollup: false,
    });
    expect(await sweep()).toMatchObject({ revisions: 1, conversions: 1 });
    await expectExact([tenant], range);
    expect((await stored(tenant, range)).map((r) => [r.touchKind, r.conversions, r.revenue])).toEqual([
      ["assisted", 1, "42.000000"],
      ["direct", 1, "42.000000"],
    ]);
  });

  it("refuses a role that cannot see every workspace", async () => {
    const app = createDb(t.appUrl, { max: 1 });
    try {
      await expect(sweepConversionRollups(app.db)).rejects.toThrow(/maintenance role/);
    } finally {
      await app.close();
    }
  });
});
