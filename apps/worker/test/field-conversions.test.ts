import { newIdAt, type ReportQuery, reportConversionsRaw, visitRollupsAnswer } from "@hitrail/db";
import { sql } from "@hitrail/db/testing/sql";
import { describe, expect, it } from "vitest";
import {
  changeConversions,
  convertJourneys,
  expectBackfillRefills,
  expectRebuildsKeep,
} from "./support/conversion-story.ts";
import { type HitRow, insertHit, seedTenant, type Tenant } from "./support/factory.ts";
import { storedFieldConversions } from "./support/field-rows.ts";
import { atConversionTime, creditedAtConversion, expectRawConversions } from "./support/report-rows.ts";
import { useSweptDatabase } from "./support/swept-database.ts";

// Conversions by tracking field read from field_conversion_rollups_hourly / _daily (and the
// conversion rollups for those without the field) must be the numbers the raw conversions, touches
// and hits give; the sweep, a rollup job, a recompute and the post-upgrade backfill must all leave
// the same rows.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const rig = useSweptDatabase();

const isoDay = (at: number) => new Date(at).toISOString().slice(0, 10);

const storedFields = (tenant: Tenant) => storedFieldConversions(rig.t.db, tenant.workspaceId);

/**
 * Journeys across a UTC midnight: zones z1/z2 or none, the campaign from its column or from
 * tracking_fields, bots, and lander clicks; each visitor's offer visit converts, the lander visit
 * before it assisted (often in another hour, sometimes the day before).
 */
async function seedJourneys(tenant: Tenant, base: number) {
  const offers: Array<{ offer: HitRow; lander: HitRow }> = [];
  for (let i = 0; i < 12; i++) {
    const at = base + (i % 4) * HOUR + i * 1_000;
    const visitorId = newIdAt(at);
    const trackingFields: Record<string, string> =
      i % 5 === 4 ? {} : { zone: i % 2 === 0 ? "z1" : "z2", ...(i % 3 === 0 ? { campaign: "tf-camp" } : {}) };
    const visit = {
      visitorId,
      trackingFields,
      campaign: i % 4 === 1 ? null : `c${i % 2}`,
      isBot: i % 6 === 5,
    };
    const entry = await insertHit(rig.t.db, tenant, { node: "entry", at, ...visit });
    const lander = await insertHit(rig.t.db, tenant, {
      node: "lander",
      at: at + 1,
      prevHitId: entry.id,
      ...visit,
    });
    const offer = await insertHit(rig.t.db, tenant, {
      node: i % 3 === 0 ? "offerB" : "offerA",
      at: at + (i % 2 === 0 ? 2 * HOUR : 2),
      prevHitId: lander.id,
      ...visit,
    });
    offers.push({ offer, lander });
  }
  return offers;
}

describe("conversions by tracking field from the rollups", () => {
  it("gives the raw rows' numbers through creates, updates, rejects, restores, late commits, jobs and rebuilds", async () => {
    const tenant = await seedTenant(rig.t.db);
    // Two hours before a UTC midnight: journeys and their conversions straddle two days.
    const base = Math.floor(Date.now() / DAY) * DAY - 2 * HOUR;
    const journeys = await seedJourneys(tenant, base);
    const ids = await convertJourneys(rig, tenant, journeys);

    const q = (over: Partial<ReportQuery>): ReportQuery => ({
      workspaceId: tenant.workspaceId,
      timeZone: "UTC",
      fromDate: isoDay(base - DAY),
      toDate: isoDay(base + DAY),
      groupBy: [],
      ...over,
    });
    const queries = [
      q({ groupBy: ["field:zone"] }),
      q({ groupBy: ["field:campaign"] }),
      q({ groupBy: ["trafficSource", "field:zone"] }),
      q({ groupBy: ["field:zone", "offer"] }),
      q({ groupBy: ["field:zone", "lander"] }),
      q({ groupBy: ["field:zone", "day"] }),
      q({ groupBy: ["field:zone", "hour"] }),
      q({ groupBy: ["trackingField"], trackingField: "zone" }),
      q({ groupBy: ["offer"], filters: [{ dimension: "field:zone", value: "z1" }] }),
      q({ groupBy: ["node"], filters: [{ dimension: "field:zone", value: null }] }),
      // Local days that are not UTC days: day rows for none or part, hour rows at the edges.
      q({ timeZone: "Asia/Kolkata", groupBy: ["field:zone"] }),
      q({
        timeZone: "America/New_York",
        fromDate: isoDay(base),
        toDate: isoDay(base),
        groupBy: ["field:zone"],
      }),
    ];
    // And the same credited at conversion time (conversion_time_rollups_hourly, by field
    // conversion_time_tuple_rollups_*).
    const expectRaw = async () => {
      await expectRawConversions(rig.t.db, queries, visitRollupsAnswer);
      await expectRawConversions(rig.t.db, atConversionTime(queries), creditedAtConversion);
    };
    await expectRaw();
    expect((await reportConversionsRaw(rig.t.db, queries[0] as ReportQuery)).length).toBeGreaterThan(2);

    await changeConversions(rig, tenant, ids);
    await expectRaw();
    const built = await storedFields(tenant);
    expect(built.hours.length).toBeGreaterThan(0);
    expect(built.days.length).toBeGreaterThan(0);
    await expectRebuildsKeep(rig, tenant, ids, base, () => storedFields(tenant));
    await expectRaw();
  });

  it("fills conversions from before the upgrade through the backfill, and counts their later changes once", async () => {
    const tenant = await seedTenant(rig.t.db);
    const base = Math.floor(Date.now() / HOUR) * HOUR - 30 * HOUR;
    const journeys = await seedJourneys(tenant, base);
    // As the upgrade finds the database: no rows by field, ledgers that never added any.
    const expected = await expectBackfillRefills(
      rig,
      tenant,
      journeys,
      [
        sql`delete from field_conversion_rollups_hourly`,
        sql`delete from field_conversion_rollups_daily`,
        sql`update conversion_rollup_state set field_contribution = null`,
      ],
      () => storedFields(tenant),
    );
    expect(expected.hours.length).toBeGreaterThan(0);
  });
});
