import {
  applyConversionRollup,
  backfillRollups,
  type DbClient,
  recomputeRollups,
  sweepConversionRollups,
  sweepHitRollups,
} from "@hitrail/db";
import { type SQL, sql } from "@hitrail/db/testing/sql";
import { expect } from "vitest";
import { changeConversion, createConversion, type HitRow, type Tenant } from "./factory.ts";
import { openTransaction } from "./open-transaction.ts";
import type { SweptDatabase } from "./swept-database.ts";

// The life of a handful of conversions that every rollup kept through the conversion ledger (by
// field, by visit tuple) must follow exactly: created (an upsell, one committing after a later
// sweep), changed through sweeps and a rollup job, rebuilt from raw rows, and filled by the
// post-upgrade backfill. Each test file brings its own journeys, reports and stored rows.

const HOUR = 3_600_000;

export interface Journey {
  offer: HitRow;
  lander: HitRow;
}

/** Sweeps the conversion ledgers into the rollups, waiting for a running sweep. */
export const sweepConversions = (rig: SweptDatabase) =>
  sweepConversionRollups(rig.maintenance.db, { wait: true });

/**
 * Converts each journey's offer visit (its lander visit assisted; a custom event on every fourth),
 * adds an upsell on the first and a conversion of the second that commits after a sweep, and sweeps
 * them all. The ids of the journeys' conversions, in journey order. They convert from minutes to
 * hours after their visit, so a report credited at conversion time files them in other hours (and
 * some on another day) than one credited at the visit's.
 */
export async function convertJourneys(rig: SweptDatabase, tenant: Tenant, journeys: Journey[]) {
  const ids: string[] = [];
  for (const [i, j] of journeys.entries()) {
    const { conversionId } = await createConversion(rig.t.db, tenant, {
      hit: j.offer,
      assisted: [j.lander],
      revenue: `${10 + i}.25`,
      ...(i % 4 === 3 ? { eventKey: "01a00000-0000-7000-8000-000000000001" } : {}),
      convertedAt: j.offer.createdAt.getTime() + (i % 3) * 2 * HOUR + i * 60_000,
      rollup: false,
    });
    ids.push(conversionId);
  }
  const [first, second] = journeys as [Journey, Journey];
  await createConversion(rig.t.db, tenant, { hit: first.offer, tx: "upsell", revenue: "3", rollup: false });
  const late = await openTransaction(rig.other, async (tx) => {
    await createConversion(tx as unknown as DbClient["db"], tenant, {
      hit: second.offer,
      assisted: [second.lander],
      tx: "late",
      revenue: "7.5",
      rollup: false,
    });
  });
  await sweepConversions(rig);
  await late.commit();
  await sweepConversions(rig);
  return ids;
}

/** Late revenue, a rejection, a restore, through the sweep; one more change through a rollup job. */
export async function changeConversions(rig: SweptDatabase, tenant: Tenant, ids: string[]) {
  const id = (i: number) => ids[i] as string;
  await changeConversion(rig.t.db, tenant, { conversionId: id(2), action: "update", revenue: "99.5" });
  await changeConversion(rig.t.db, tenant, { conversionId: id(3), action: "reject" });
  await changeConversion(rig.t.db, tenant, { conversionId: id(4), action: "reject" });
  await sweepConversions(rig);
  await changeConversion(rig.t.db, tenant, { conversionId: id(4), action: "restore", revenue: "1" });
  await changeConversion(rig.t.db, tenant, { conversionId: id(5), action: "update", revenue: "0.5" });
  await applyConversionRollup(rig.t.db, { workspaceId: tenant.workspaceId, conversionId: id(5) });
  await sweepConversions(rig);
}

/**
 * A rebuild from raw rows of the story's hours leaves exactly what the sweeps and the job built
 * (`swept`, read by `stored`); so does one of a single hour (the conversions with a visit in it
 * keep their other hours right), and one of an hour with conversions but no visits. Then one more
 * change, swept.
 */
export async function expectRebuildsKeep<T>(
  rig: SweptDatabase,
  tenant: Tenant,
  ids: string[],
  base: number,
  stored: () => Promise<T>,
) {
  const swept = await stored();
  for (const [from, to] of [
    [base - HOUR, base + 6 * HOUR],
    [base + HOUR, base + 2 * HOUR],
    // Conversions that happened in it, of visits outside it (convertJourneys): its rows at
    // conversion time are theirs.
    [base + 4 * HOUR, base + 5 * HOUR],
  ] as const) {
    await recomputeRollups(rig.t.db, {
      workspaceId: tenant.workspaceId,
      from: new Date(from),
      to: new Date(to),
    });
    expect(await stored()).toEqual(swept);
  }
  await changeConversion(rig.t.db, tenant, {
    conversionId: ids[6] as string,
    action: "update",
    revenue: "2",
  });
  await sweepConversions(rig);
}

/**
 * Conversions from before an upgrade (`forget` puts the database as the upgrade finds it: the
 * rollup's rows gone, the ledgers' column null) come back through the backfill, one of them changed
 * before the backfill reaches its hours and once more after: the rows are those the sweeps had built.
 */
export async function expectBackfillRefills<T>(
  rig: SweptDatabase,
  tenant: Tenant,
  journeys: Journey[],
  forget: SQL[],
  stored: () => Promise<T>,
) {
  const ids: string[] = [];
  for (const j of journeys) {
    const created = await createConversion(rig.t.db, tenant, {
      hit: j.offer,
      assisted: [j.lander],
      revenue: "5",
      rollup: false,
    });
    ids.push(created.conversionId);
  }
  await sweepConversions(rig);
  await sweepHitRollups(rig.maintenance.db);
  const expected = await stored();
  for (const statement of forget) await rig.maintenance.db.execute(statement);
  await rig.maintenance.db.execute(sql`
    update rollup_watermarks set backfill_before = date_trunc('hour', now()) + interval '1 hour' where stream = 'hits'`);
  const changed = ids[1] as string;
  await changeConversion(rig.t.db, tenant, { conversionId: changed, action: "update", revenue: "8" });
  await sweepConversions(rig);
  for (let i = 0; i < 40; i++) {
    const outcome = await backfillRollups(rig.maintenance.db, { hours: 5 });
    if (outcome.status === "done" || outcome.status === "idle") break;
  }
  await changeConversion(rig.t.db, tenant, { conversionId: changed, action: "update", revenue: "5" });
  await sweepConversions(rig);
  expect(await stored()).toEqual(expected);
  return expected;
}
