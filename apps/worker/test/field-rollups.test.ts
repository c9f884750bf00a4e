import {
  backfillRollups,
  type DbClient,
  type FieldDayRollupRow,
  type FieldRollupRow,
  type HitRollupRow,
  listFieldRollupDays,
  listFieldRollups,
  listHitRollups,
  newIdAt,
  type ReportQuery,
  recomputeHitRollups,
  reportVisits,
  reportVisitsRaw,
  sweepHitRollups,
  tupleRollupsAnswer,
  visitRollupsAnswer,
} from "@hitrail/db";
import { sql } from "@hitrail/db/testing/sql";
import { describe, expect, it } from "vitest";
import { type HitRow, insertHit, seedTenant, type Tenant } from "./support/factory.ts";
import { shownVisits } from "./support/report-rows.ts";
import { useSweptDatabase } from "./support/swept-database.ts";

// Visits by tracking field read from field_rollups_hourly (and hit_rollups_hourly for the visits
// without the field) must be the numbers the raw hits give, for every grouping and drill-down the
// grid asks; the sweep, a rebuild and the post-upgrade backfill must all leave the same rows.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const rig = useSweptDatabase();

const day = (at: number) => new Date(at).toISOString().slice(0, 10);

/**
 * The same query answered from the rollups and from raw hits. A field crossed with a dimension the
 * visits-by-field rollups do not key (country…) is planned on raw hits; reportVisits refuses it.
 */
async function bothWays(q: ReportQuery) {
  expect(visitRollupsAnswer(q)).toBe(true);
  const [rolled, raw] = await Promise.all([reportVisits(rig.t.db, q), reportVisitsRaw(rig.t.db, q)]);
  return { rolled: shownVisits(rolled, q.groupBy), raw: shownVisits(raw, q.groupBy) };
}

/**
 * Journeys over three hours: zones z1/z2 or none, campaign from its column or from tracking_fields,
 * bots, cost, clicks out of the lander, returning visitors, and a value too long for a btree key.
 */
async function seedJourneys(tenant: Tenant, base: number): Promise<HitRow[]> {
  const hits: HitRow[] = [];
  const long = "ž".repeat(2_000);
  for (let i = 0; i < 18; i++) {
    const at = base + (i % 3) * HOUR + i * 1_000;
    const visitorId = newIdAt(at - (i % 4 === 0 ? 0 : i));
    const trackingFields: Record<string, string> =
      i % 5 === 4 ? {} : { zone: i % 2 === 0 ? "z1" : "z2", ...(i % 3 === 0 ? { campaign: "tf-camp" } : {}) };
    if (i === 7) trackingFields.zone = long;
    // A field without a name (a source's parameter mapped to ""): no report can name it, and it must
    // not pass for the rollups' every-visit rows.
    if (i === 3) trackingFields[""] = "";
    const visit = {
      visitorId,
      trackingFields,
      campaign: i % 4 === 1 ? null : `c${i % 2}`,
      isBot: i % 6 === 5,
      country: i % 2 === 0 ? "DE" : "FR",
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
    hits.push(entry, lander);
    if (i % 2 === 0) {
      hits.push(
        await insertHit(rig.t.db, tenant, {
          node: i % 4 === 0 ? "offerA" : "offerB",
          at: at + 2,
          prevHitId: lander.id,
          ...visit,
        }),
      );
    }
    // Returning visitors: a second entrance of the same visitor (not unique any more).
    if (i % 4 === 0) hits.push(await insertHit(rig.t.db, tenant, { node: "entry", at: at + 500, ...visit }));
  }
  return hits;
}

async function storedRows(tenant: Tenant, from: number, to: number) {
  const range = { workspaceId: tenant.workspaceId, from: new Date(from), to: new Date(to) };
  // Timestamps as ISO strings, `updatedAt` left out.
  const plain = (r: HitRollupRow | FieldRollupRow | FieldDayRollupRow) =>
    Object.fromEntries(
      Object.entries(r)
        .filter(([k]) => k !== "updatedAt")
        .map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]),
    ) as Record<string, unknown> & {
      visits: number;
      uniqueNodeVisits: number;
      uniqueFunnelVisits: number;
      actionClicks: number;
    };
  const clean = (rows: Array<HitRollupRow | FieldRollupRow | FieldDayRollupRow>) =>
    rows
      .map(plain)
      .filter(
        (r) =>
          r.visits !== 0 || r.uniqueNodeVisits !== 0 || r.uniqueFunnelVisits !== 0 || r.actionClicks !== 0,
      )
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return {
    visits: clean(await listHitRollups(rig.t.db, range)),
    fields: clean(await listFieldRollups(rig.t.db, range)),
    // Whole UTC days around the hours: a rebuild of some hours sums their days again.
    fieldDays: clean(
      await listFieldRollupDays(rig.t.db, {
        ...range,
        from: new Date(Math.floor(from / DAY) * DAY),
        to: new Date(Math.ceil(to / DAY) * DAY),
      }),
    ),
  };
}

describe("visits by tracking field from the rollups", () => {
  it("gives the raw hits' numbers for every grouping, bots in or out, and a three-level drill-down", async () => {
    const tenant = await seedTenant(rig.t.db);
    // Yesterday 10:00 UTC, whatever the time of the run: with the hours just before the run, a run
    // after 18:30 UTC put them on the next Kolkata day, and the Kolkata queries found no hit.
    const base = Math.floor(Date.now() / DAY) * DAY - DAY + 10 * HOUR;
    // A late hit: committed after later hits were swept, with an older id, the visitor's first.
    let finish: () => void = () => {};
    const lateVisitor = newIdAt(base);
    const late = rig.other.db.transaction(async (tx) => {
      await insertHit(tx as unknown as DbClient["db"], tenant, {
        node: "entry",
        at: base + 10,
        visitorId: lateVisitor,
        trackingFields: { zone: "z1" },
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
      trackingFields: { zone: "z1" },
    });
    await seedJourneys(tenant, base);
    await sweepHitRollups(rig.maintenance.db);
    finish();
    await late;
    expect(await sweepHitRollups(rig.maintenance.db)).toMatchObject({ status: "swept", hits: 1 });

    const q = (over: Partial<ReportQuery>): ReportQuery => ({
      workspaceId: tenant.workspaceId,
      timeZone: "UTC",
      fromDate: day(base),
      toDate: day(base + 3 * HOUR),
      groupBy: [],
      ...over,
    });
    const queries: ReportQuery[] = [];
    for (const includeBots of [false, true]) {
      queries.push(
        q({ includeBots, groupBy: ["field:zone"] }),
        q({ includeBots, groupBy: ["field:campaign"] }),
        q({ includeBots, groupBy: ["field:zone", "hour"] }),
        q({ includeBots, groupBy: ["node", "field:zone"] }),
        q({ includeBots, groupBy: ["trackingField"], trackingField: "zone" }),
        q({ includeBots, groupBy: ["trafficSource", "field:zone"] }),
        q({ includeBots, groupBy: ["field:zone", "day"] }),
        // A local day that is not a UTC day: day rows for none of it, hour rows at both edges.
        q({ includeBots, timeZone: "Asia/Kolkata", groupBy: ["field:zone"] }),
        q({ includeBots, timeZone: "America/New_York", groupBy: ["offer", "field:zone"] }),
        q({
          includeBots,
          timeZone: "Asia/Kolkata",
          fromDate: day(base - DAY),
          toDate: day(base + DAY),
          groupBy: ["field:campaign"],
        }),
      );
    }
    for (const { raw, rolled } of await Promise.all(queries.map(bothWays))) {
      expect(raw.length).toBeGreaterThan(0);
      expect(rolled).toEqual(raw);
    }

    // Traffic source → zone → offer, each level filtered by its parents' keys, as the grid asks.
    const [source] = (await bothWays(q({ groupBy: ["trafficSource"] }))).rolled;
    const ts = { dimension: "trafficSource" as const, value: source?.key.trafficSource ?? null };
    const zones = await bothWays(q({ groupBy: ["field:zone"], filters: [ts] }));
    expect(zones.rolled).toEqual(zones.raw);
    expect(zones.rolled.map((r) => r.key["field:zone"])).toEqual(
      expect.arrayContaining(["z1", "z2", null, "ž".repeat(2_000)]),
    );
    for (const zone of zones.rolled) {
      const offers = await bothWays(
        q({
          groupBy: ["offer"],
          filters: [ts, { dimension: "field:zone", value: zone.key["field:zone"] ?? null }],
        }),
      );
      expect(offers.rolled).toEqual(offers.raw);
    }
    // Funnel → zone → country, and two fields at once: the field rollups key neither, the rollups
    // by visit tuple answer (tuple-rollups.test.ts tries many more).
    for (const crossed of [
      q({ includeBots: true, groupBy: ["funnel", "field:zone", "country"] }),
      q({ groupBy: ["country"], filters: [{ dimension: "field:zone", value: null }] }),
      q({ groupBy: ["field:zone"], filters: [{ dimension: "country", value: "DE" }] }),
      q({ groupBy: ["field:zone"], filters: [{ dimension: "field:campaign", value: "c1" }] }),
    ]) {
      expect(visitRollupsAnswer(crossed)).toBe(false);
      expect(tupleRollupsAnswer(crossed)).toBe(true);
      const [rolled, raw] = await Promise.all([
        reportVisits(rig.t.db, crossed),
        reportVisitsRaw(rig.t.db, crossed),
      ]);
      expect(raw.length).toBeGreaterThan(0);
      expect(shownVisits(rolled, crossed.groupBy)).toEqual(shownVisits(raw, crossed.groupBy));
    }

    // A rebuild from raw hits leaves exactly what the sweeps built.
    const before = await storedRows(tenant, base - HOUR, base + 4 * HOUR);
    expect(before.fields.length).toBeGreaterThan(0);
    expect(before.fieldDays.length).toBeGreaterThan(0);
    await recomputeHitRollups(rig.maintenance.db, {
      from: new Date(base - HOUR),
      to: new Date(base + 4 * HOUR),
    });
    expect(await storedRows(tenant, base - HOUR, base + 4 * HOUR)).toEqual(before);
  });
});

describe("backfill after an upgrade", () => {
  it("rolls up the hours an old database had before the rollup existed, in steps, once", async () => {
    const tenant = await seedTenant(rig.t.db);
    const bystander = await seedTenant(rig.t.db);
    const now = Date.now();
    const base = Math.floor(now / HOUR) * HOUR - 30 * HOUR;
    await seedJourneys(tenant, base);
    await seedJourneys(bystander, base + 20 * HOUR);
    await sweepHitRollups(rig.maintenance.db);
    const range = { from: base - HOUR, to: now + HOUR };
    const expected = {
      tenant: await storedRows(tenant, range.from, range.to),
      bystander: await storedRows(bystander, range.from, range.to),
    };
    // The database as the upgrade finds it: hits from before ingest_xid, no field rollups, and the
    // visit rollups of some hours missing (the old hourly job had not run); the migration marks the
    // hours before the next one for backfill.
    await rig.maintenance.db.execute(
      sql`update hits set ingest_xid = null where workspace_id in (${tenant.workspaceId}, ${bystander.workspaceId})`,
    );
    await rig.maintenance.db.execute(sql`delete from field_rollups_hourly`);
    await rig.maintenance.db.execute(sql`delete from field_rollups_daily`);
    await rig.maintenance.db.execute(
      sql`delete from hit_rollups_hourly where workspace_id = ${tenant.workspaceId} and hour < ${new Date(base + HOUR).toISOString()}::timestamptz`,
    );
    await rig.maintenance.db.execute(sql`
      update rollup_watermarks set backfill_before = date_trunc('hour', now()) + interval '1 hour' where stream = 'hits'`);
    expect((await storedRows(tenant, range.from, range.to)).fields).toEqual([]);
    expect((await storedRows(tenant, range.from, range.to)).fieldDays).toEqual([]);

    // Two workers at once: one steps, the other finds the lock taken or steps after it.
    const steps: string[] = [];
    for (let i = 0; i < 40; i++) {
      const outcomes = await Promise.all([
        backfillRollups(rig.maintenance.db, { hours: 4 }),
        backfillRollups(rig.maintenance.db, { hours: 4 }),
      ]);
      steps.push(...outcomes.map((o) => o.status));
      if (outcomes.some((o) => o.status === "done" || o.status === "idle")) break;
    }
    expect(steps).toContain("backfilled");
    expect(steps).toContain("done");
    expect(await backfillRollups(rig.maintenance.db)).toEqual({ status: "idle" });
    expect(await storedRows(tenant, range.from, range.to)).toEqual(expected.tenant);
    expect(await storedRows(bystander, range.from, range.to)).toEqual(expected.bystander);
  });
});
