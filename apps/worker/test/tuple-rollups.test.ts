import {
  backfillRollups,
  type DbClient,
  newIdAt,
  type ReportQuery,
  recomputeHitRollups,
  reportConversionsRaw,
  reportVisits,
  reportVisitsRaw,
  sweepHitRollups,
  tupleRollupsAnswer,
} from "@hitrail/db";
import { sql } from "@hitrail/db/testing/sql";
import { describe, expect, it } from "vitest";
import {
  changeConversions,
  convertJourneys,
  expectBackfillRefills,
  expectRebuildsKeep,
} from "./support/conversion-story.ts";
import { type HitRow, insertHit, seedTenant, type Tenant } from "./support/factory.ts";
import { storedTupleRows } from "./support/field-rows.ts";
import {
  atConversionTime,
  creditedAtConversion,
  expectRawConversions,
  shownVisits,
} from "./support/report-rows.ts";
import { useSweptDatabase } from "./support/swept-database.ts";

// Reports naming two tracking fields, or a field crossed with country, device, OS or browser, read
// the rollups by visit tuple (visit_tuple_rollups_*, conversion_tuple_rollups_*), and reports
// credited at conversion time, whatever their grouping, the same rows in the conversion's hour
// (conversion_time_rollups_hourly, conversion_time_tuple_rollups_*): they must give the raw rows' numbers, and the sweeps, rollup
// jobs, recomputes and the post-upgrade backfill must all leave the same rows.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const rig = useSweptDatabase();

const isoDay = (at: number) => new Date(at).toISOString().slice(0, 10);
const stored = (tenant: Tenant) => storedTupleRows(rig.t.db, tenant.workspaceId);

async function expectRawVisits(queries: ReportQuery[]) {
  for (const q of queries) {
    expect(tupleRollupsAnswer(q), JSON.stringify(q)).toBe(true);
    const [rolled, raw] = await Promise.all([reportVisits(rig.t.db, q), reportVisitsRaw(rig.t.db, q)]);
    expect(raw.length, JSON.stringify(q)).toBeGreaterThan(0);
    expect(shownVisits(rolled, q.groupBy), JSON.stringify(q)).toEqual(shownVisits(raw, q.groupBy));
  }
}

/**
 * Journeys over four hours around a UTC midnight: zones z1/z2 or none, a creative on some, the
 * campaign from its column or from tracking_fields, two countries and devices, bots, cost, clicks
 * out of the lander, returning visitors, and a value too long for a btree key. Each even journey's
 * offer visit is returned with its lander visit, for conversions.
 */
async function seedJourneys(tenant: Tenant, base: number) {
  const offers: Array<{ offer: HitRow; lander: HitRow }> = [];
  const long = "ž".repeat(2_000);
  for (let i = 0; i < 16; i++) {
    const at = base + (i % 4) * HOUR + i * 1_000;
    const visitorId = newIdAt(at - (i % 4 === 0 ? 0 : i));
    const trackingFields: Record<string, string> =
      i % 5 === 4
        ? {}
        : {
            zone: i % 2 === 0 ? "z1" : "z2",
            ...(i % 3 === 0 ? { campaign: "tf-camp" } : {}),
            ...(i % 3 === 1 ? { creative: `cr${i % 2}` } : {}),
          };
    if (i === 7) trackingFields.zone = long;
    if (i === 3) trackingFields[""] = "";
    const visit = {
      visitorId,
      trackingFields,
      campaign: i % 4 === 1 ? null : `c${i % 2}`,
      isBot: i % 6 === 5,
      country: i % 3 === 0 ? "DE" : i % 3 === 1 ? "FR" : null,
      deviceType: i % 2 === 0 ? "mobile" : "desktop",
    };
    const entry = await insertHit(rig.t.db, tenant, {
      node: "entry",
      at,
      cost: i % 3 === 2 ? "0.25" : null,
      ...visit,
    });
    const lander = await insertHit(rig.t.db, tenant, {
      node: "lander",
      at: at + 1,
      prevHitId: entry.id,
      ...visit,
    });
    if (i % 2 === 0) {
      const offer = await insertHit(rig.t.db, tenant, {
        node: i % 4 === 0 ? "offerA" : "offerB",
        at: at + (i % 4 === 0 ? 2 * HOUR : 2),
        prevHitId: lander.id,
        ...visit,
      });
      offers.push({ offer, lander });
    }
    if (i % 4 === 0) await insertHit(rig.t.db, tenant, { node: "entry", at: at + 500, ...visit });
  }
  return offers;
}

/** The crossings the grid asks for, over the days around `base`. */
function crossings(tenant: Tenant, base: number): ReportQuery[] {
  const q = (over: Partial<ReportQuery>): ReportQuery => ({
    workspaceId: tenant.workspaceId,
    timeZone: "UTC",
    fromDate: isoDay(base - DAY),
    toDate: isoDay(base + DAY),
    groupBy: [],
    ...over,
  });
  const queries: ReportQuery[] = [];
  for (const includeBots of [false, true]) {
    queries.push(
      // Two fields at once: grouped, and one as the drill-down parent of the other.
      q({ includeBots, groupBy: ["field:zone", "field:campaign"] }),
      q({ includeBots, groupBy: ["field:zone"], filters: [{ dimension: "field:campaign", value: "c0" }] }),
      q({ includeBots, groupBy: ["field:creative"], filters: [{ dimension: "field:zone", value: null }] }),
      q({ includeBots, groupBy: ["field:zone", "field:creative", "offer"] }),
      // A field crossed with a visit attribute.
      q({ includeBots, groupBy: ["field:zone", "country"] }),
      q({ includeBots, groupBy: ["device", "field:campaign"] }),
      q({ includeBots, groupBy: ["funnel", "field:zone", "country"] }),
      q({ includeBots, groupBy: ["country"], filters: [{ dimension: "field:zone", value: null }] }),
      q({ includeBots, groupBy: ["field:zone"], filters: [{ dimension: "country", value: "DE" }] }),
      q({ includeBots, groupBy: ["trackingField", "device"], trackingField: "zone" }),
      q({ includeBots, groupBy: ["field:zone", "browser", "os"] }),
      q({ includeBots, groupBy: ["field:sub", "field:creative", "country"] }),
      q({ includeBots, groupBy: ["field:zone", "field:campaign", "hour"] }),
      q({ includeBots, groupBy: ["field:zone", "country", "day"] }),
      // Local days that are not UTC days: day rows for part, hour rows at the edges.
      q({ includeBots, timeZone: "Asia/Kolkata", groupBy: ["field:zone", "country"] }),
      q({
        includeBots,
        timeZone: "America/New_York",
        fromDate: isoDay(base),
        toDate: isoDay(base),
        groupBy: ["lander", "field:zone", "device"],
      }),
      q({
        includeBots,
        timeZone: "Asia/Kolkata",
        // The local day after base's UTC day: from 18:30 UTC the evening before.
        fromDate: isoDay(base + DAY),
        toDate: isoDay(base + DAY),
        groupBy: ["field:campaign"],
        filters: [{ dimension: "field:zone", value: "z1" }],
      }),
    );
  }
  return queries;
}

describe("visits by visit tuple from the rollups", () => {
  it("gives the raw hits' numbers for two fields and a field by country or device, swept late or rebuilt", async () => {
    const tenant = await seedTenant(rig.t.db);
    // Two hours before a UTC midnight: journeys straddle two days.
    const base = Math.floor(Date.now() / DAY) * DAY - 2 * HOUR;
    // A late hit: committed after later hits were swept, with an older id, the visitor's first.
    let finish: () => void = () => {};
    const lateVisitor = newIdAt(base);
    const late = rig.other.db.transaction(async (tx) => {
      await insertHit(tx as unknown as DbClient["db"], tenant, {
        node: "entry",
        at: base + 10,
        visitorId: lateVisitor,
        trackingFields: { zone: "z1", creative: "cr1" },
        country: "DE",
      });
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
    });
    await new Promise((r) => setTimeout(r, 50));
    await insertHit(rig.t.db, tenant, {
      node: "entry",
      at: base + HOUR,
      visitorId: lateVisitor,
      trackingFields: { zone: "z1", creative: "cr1" },
      country: "DE",
    });
    await seedJourneys(tenant, base);
    // Values that are not strings (a number, a JSON null, an object), as an API client may send:
    // a report reads them from the rollups as it reads them from raw hits.
    await rig.maintenance.db.execute(sql`
      update hits set tracking_fields = tracking_fields || '{"zone": 5, "creative": null, "sub": {"a": [1, null]}}'::jsonb
      where workspace_id = ${tenant.workspaceId} and tracking_fields ->> 'zone' = 'z2' and country = 'FR'`);
    await sweepHitRollups(rig.maintenance.db);
    finish();
    await late;
    expect(await sweepHitRollups(rig.maintenance.db)).toMatchObject({ status: "swept", hits: 1 });

    const queries = crossings(tenant, base);
    await expectRawVisits(queries);

    // A rebuild from raw hits (a range ending mid-day, so its days are summed again from hours)
    // leaves exactly what the sweeps built.
    const swept = await stored(tenant);
    expect(swept.visitHours.length).toBeGreaterThan(0);
    expect(swept.visitDays.length).toBeGreaterThan(0);
    await recomputeHitRollups(rig.maintenance.db, {
      from: new Date(base - HOUR),
      to: new Date(base + 3 * HOUR),
    });
    expect(await stored(tenant)).toEqual(swept);
    await expectRawVisits(queries);
  });

  it("rolls up the hours an old database had before the rollup existed, through the backfill", async () => {
    const tenant = await seedTenant(rig.t.db);
    const now = Date.now();
    const base = Math.floor(now / HOUR) * HOUR - 30 * HOUR;
    await seedJourneys(tenant, base);
    await sweepHitRollups(rig.maintenance.db);
    const expected = await stored(tenant);
    expect(expected.visitDays.length).toBeGreaterThan(0);
    // The database as the upgrade (migration 0026) finds it: no rows by tuple, the hours before the
    // next one marked for backfill.
    await rig.maintenance.db.execute(
      sql`update hits set ingest_xid = null where workspace_id = ${tenant.workspaceId}`,
    );
    await rig.maintenance.db.execute(sql`delete from visit_tuple_rollups_hourly`);
    await rig.maintenance.db.execute(sql`delete from visit_tuple_rollups_daily`);
    await rig.maintenance.db.execute(sql`
      update rollup_watermarks set backfill_before = date_trunc('hour', now()) + interval '1 hour' where stream = 'hits'`);
    expect((await stored(tenant)).visitHours).toEqual([]);
    for (let i = 0; i < 40; i++) {
      const outcome = await backfillRollups(rig.maintenance.db, { hours: 5 });
      if (outcome.status === "done" || outcome.status === "idle") break;
    }
    expect(await backfillRollups(rig.maintenance.db)).toEqual({ status: "idle" });
    expect(await stored(tenant)).toEqual(expected);
  });
});

describe("conversions by visit tuple from the rollups", () => {
  it("gives the raw rows' numbers through creates, updates, rejects, restores, late commits, jobs and rebuilds", async () => {
    const tenant = await seedTenant(rig.t.db);
    const base = Math.floor(Date.now() / DAY) * DAY - 2 * HOUR;
    const journeys = await seedJourneys(tenant, base);
    await sweepHitRollups(rig.maintenance.db);
    const ids = await convertJourneys(rig, tenant, journeys);

    const queries = crossings(tenant, base);
    const atConversion = atConversionTime(queries);
    const expectRaw = async () => {
      await expectRawConversions(rig.t.db, queries, tupleRollupsAnswer);
      await expectRawConversions(rig.t.db, atConversion, creditedAtConversion);
    };
    await expectRaw();
    expect((await reportConversionsRaw(rig.t.db, queries[0] as ReportQuery)).length).toBeGreaterThan(2);
    // Credited at conversion time, the hours are others than the visits'.
    const byHour = atConversion.find((q) => q.groupBy.join() === "hour") as ReportQuery;
    expect((await reportConversionsRaw(rig.t.db, byHour)).map((r) => r.key.hour)).not.toEqual(
      (await reportConversionsRaw(rig.t.db, { ...byHour, creditAt: "visit" })).map((r) => r.key.hour),
    );

    await changeConversions(rig, tenant, ids);
    await expectRaw();
    const built = await stored(tenant);
    expect(built.conversionHours.length).toBeGreaterThan(0);
    expect(built.conversionDays.length).toBeGreaterThan(0);
    expect(built.conversionTimeHours.length).toBeGreaterThan(0);
    expect(built.conversionTimeDays.length).toBeGreaterThan(0);
    expect(built.conversionTimePlain.length).toBeGreaterThan(0);
    await expectRebuildsKeep(rig, tenant, ids, base, () => stored(tenant));
    await expectRaw();
  });

  it("fills conversions from before the upgrade through the backfill, and counts their later changes once", async () => {
    const tenant = await seedTenant(rig.t.db);
    const base = Math.floor(Date.now() / HOUR) * HOUR - 30 * HOUR;
    const journeys = await seedJourneys(tenant, base);
    // As the upgrade finds the database: no rows by tuple, ledgers that never added any.
    const expected = await expectBackfillRefills(
      rig,
      tenant,
      journeys,
      [
        sql`delete from conversion_tuple_rollups_hourly`,
        sql`delete from conversion_tuple_rollups_daily`,
        // Nor rows at conversion time (migration 0029 came later).
        sql`delete from conversion_time_rollups_hourly`,
        sql`delete from conversion_time_tuple_rollups_hourly`,
        sql`delete from conversion_time_tuple_rollups_daily`,
        sql`update conversion_rollup_state set tuple_contribution = null, converted_hour = null`,
      ],
      () => stored(tenant),
    );
    expect(expected.conversionHours.length).toBeGreaterThan(0);
  });

  it("fills conversions at conversion time from before the upgrade through the backfill, and counts their later changes once", async () => {
    const tenant = await seedTenant(rig.t.db);
    const base = Math.floor(Date.now() / HOUR) * HOUR - 30 * HOUR;
    const journeys = await seedJourneys(tenant, base);
    // As migration 0029 finds the database: the rollups by tuple kept, none at conversion time.
    const expected = await expectBackfillRefills(
      rig,
      tenant,
      journeys,
      [
        sql`delete from conversion_time_rollups_hourly`,
        sql`delete from conversion_time_tuple_rollups_hourly`,
        sql`delete from conversion_time_tuple_rollups_daily`,
        sql`update conversion_rollup_state set converted_hour = null`,
      ],
      () => stored(tenant),
    );
    expect(expected.conversionTimeHours.length).toBeGreaterThan(0);
    expect(expected.conversionTimeDays.length).toBeGreaterThan(0);
    expect(expected.conversionTimePlain.length).toBeGreaterThan(0);
  });
});
