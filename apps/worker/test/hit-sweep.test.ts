import {
  type DbClient,
  type HitRollupRow,
  listFieldRollupDays,
  listFieldRollups,
  listHitRollups,
  newIdAt,
  recomputeHitRollups,
  reportVisits,
  sweepHitRollups,
} from "@hitrail/db";
import { sql } from "@hitrail/db/testing/sql";
import { describe, expect, it } from "vitest";
import { insertHit, seedTenant, type Tenant } from "./support/factory.ts";
import { openTransaction } from "./support/open-transaction.ts";
import { useSweptDatabase } from "./support/swept-database.ts";

// The visit rollup sweep, driven by hand: no test here waits for a clock.

const HOUR = 3_600_000;

const rig = useSweptDatabase({ otherPool: 4 });

const utcDay = (at: number) => new Date(at).toISOString().slice(0, 10);

function visitsOf(tenant: Tenant, at: number) {
  return reportVisits(rig.t.db, {
    workspaceId: tenant.workspaceId,
    timeZone: "UTC",
    fromDate: utcDay(at),
    toDate: utcDay(at),
    groupBy: [],
    // Every hit counted, bots too: the sweep is what is tested, not the report's bot switch.
    includeBots: true,
  });
}

/** Stored visit rollups of a workspace without timestamps, for comparing two ways of building them. */
async function stored(tenant: Tenant, from: number, to: number) {
  const rows = await listHitRollups(rig.t.db, {
    workspaceId: tenant.workspaceId,
    from: new Date(from),
    to: new Date(to),
  });
  return rows
    .map(({ updatedAt: _u, ...r }: HitRollupRow) => ({ ...r, hour: r.hour.toISOString() }))
    .filter(
      (r) => r.visits !== 0 || r.uniqueNodeVisits !== 0 || r.uniqueFunnelVisits !== 0 || r.actionClicks !== 0,
    )
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

const DAY = 24 * HOUR;

/** Stored visits-by-field rows, by hour and by the UTC days around, in the same form. */
async function storedFields(tenant: Tenant, from: number, to: number) {
  const range = { workspaceId: tenant.workspaceId, from: new Date(from), to: new Date(to) };
  const hours = (await listFieldRollups(rig.t.db, range)).map(({ updatedAt: _u, ...r }) => ({
    ...r,
    hour: r.hour.toISOString(),
  }));
  const days = (
    await listFieldRollupDays(rig.t.db, {
      ...range,
      from: new Date(Math.floor(from / DAY) * DAY),
      to: new Date(Math.ceil(to / DAY) * DAY),
    })
  ).map(({ updatedAt: _u, ...r }) => ({ ...r, day: r.day.toISOString() }));
  const live = <
    R extends { visits: number; uniqueNodeVisits: number; uniqueFunnelVisits: number; actionClicks: number },
  >(
    rows: R[],
  ) =>
    rows
      .filter(
        (r) =>
          r.visits !== 0 || r.uniqueNodeVisits !== 0 || r.uniqueFunnelVisits !== 0 || r.actionClicks !== 0,
      )
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return { hours: live(hours), days: live(days) };
}

/** Stored visits-by-tuple rows of a workspace, hours and days, every column but the time of writing. */
async function storedTuples(tenant: Tenant) {
  const rows = async (table: "visit_tuple_rollups_hourly" | "visit_tuple_rollups_daily") =>
    (
      await rig.t.db.execute<Record<string, unknown>>(
        sql`select * from ${sql.raw(table)} where workspace_id = ${tenant.workspaceId}
              and (visits <> 0 or unique_node_visits <> 0 or unique_funnel_visits <> 0 or action_clicks <> 0)`,
      )
    )
      .map(({ updated_at: _u, ...r }) => JSON.stringify(r))
      .sort();
  return { hours: await rows("visit_tuple_rollups_hourly"), days: await rows("visit_tuple_rollups_daily") };
}

describe("visit rollup sweep", () => {
  it("puts a hit in the report at the next sweep, with no rebuild, each workspace on its own", async () => {
    const a = await seedTenant(rig.t.db);
    const b = await seedTenant(rig.t.db);
    const now = Date.now();
    expect(await visitsOf(a, now)).toEqual([]);
    await insertHit(rig.t.db, a, { node: "entry", at: now, cost: "0.25", country: "DE" });
    await insertHit(rig.t.db, a, { node: "entry", at: now + 1, cost: "0.25", country: "DE", isBot: true });
    await insertHit(rig.t.db, b, { node: "entry", at: now, cost: "1" });

    expect(await sweepHitRollups(rig.maintenance.db)).toMatchObject({ status: "swept", hits: 3 });
    expect(await visitsOf(a, now)).toEqual([
      {
        key: {},
        entrances: 2,
        visits: 2,
        clicks: 0,
        uniqueNode: 2,
        uniqueFunnel: 2,
        bots: 1,
        cost: "0.500000",
      },
    ]);
    expect(await visitsOf(b, now)).toEqual([
      {
        key: {},
        entrances: 1,
        visits: 1,
        clicks: 0,
        uniqueNode: 1,
        uniqueFunnel: 1,
        bots: 0,
        cost: "1.000000",
      },
    ]);
    // Nothing new: nothing added.
    expect(await sweepHitRollups(rig.maintenance.db)).toEqual({ status: "swept", hits: 0, rows: 0 });
    expect((await visitsOf(a, now))[0]?.visits).toBe(2);
  });

  it("refuses to run on the app role, which would move the watermark past hits it cannot see", async () => {
    await expect(sweepHitRollups(rig.t.app.db)).rejects.toThrow(/sees every workspace/);
  });

  it("counts a hit that commits after later hits were swept exactly once, and moves first visits to it", async () => {
    const tenant = await seedTenant(rig.t.db);
    const now = Date.now();
    const visitorId = newIdAt(now);
    // The late hit's id is three hours old (a group commit that hung, or a replay from the spool),
    // and it is the visitor's first visit to the lander.
    const late = await openTransaction(rig.other, (tx) =>
      insertHit(tx, tenant, { node: "lander", at: now - 3 * HOUR, visitorId, country: "FR" }),
    );
    const aborted = await openTransaction(rig.other, (tx) =>
      insertHit(tx, tenant, { node: "lander", at: now - 2 * HOUR, visitorId }),
    );
    await insertHit(rig.t.db, tenant, { node: "lander", at: now, visitorId, country: "FR" });
    await sweepHitRollups(rig.maintenance.db);
    const range = { from: now - 4 * HOUR, to: now + HOUR };
    expect((await stored(tenant, range.from, range.to)).map((r) => [r.visits, r.uniqueNodeVisits])).toEqual([
      [1, 1],
    ]);

    // A rebuild while the late hit is still uncommitted leaves it to the sweep as well.
    await recomputeHitRollups(rig.maintenance.db, {
      workspaceId: tenant.workspaceId,
      from: new Date(range.from),
      to: new Date(range.to),
    });
    await late.commit();
    await aborted.rollback();
    expect(await sweepHitRollups(rig.maintenance.db)).toMatchObject({ status: "swept", hits: 1 });
    await sweepHitRollups(rig.maintenance.db);
    const swept = await stored(tenant, range.from, range.to);
    expect(swept.map((r) => [r.hour, r.visits, r.uniqueNodeVisits, r.uniqueFunnelVisits])).toEqual(
      [
        [new Date(Math.floor((now - 3 * HOUR) / HOUR) * HOUR).toISOString(), 1, 1, 1],
        [new Date(Math.floor(now / HOUR) * HOUR).toISOString(), 1, 0, 0],
      ].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
    );

    // The same rows a rebuild from raw hits gives: nothing counted twice, nothing lost.
    await recomputeHitRollups(rig.maintenance.db, {
      workspaceId: tenant.workspaceId,
      from: new Date(range.from),
      to: new Date(range.to),
    });
    expect(await stored(tenant, range.from, range.to)).toEqual(swept);
  });

  it("rebuilds one hour against the visitor's hits before it, as the sweep counted them", async () => {
    const tenant = await seedTenant(rig.t.db);
    const now = Date.now();
    const hour = Math.floor(now / HOUR) * HOUR;
    const [returning, fresh, twice] = [newIdAt(now - 3 * HOUR), newIdAt(now - 1), newIdAt(now - 2)];
    // Hours before the rebuilt one: a lander visit, and an entry still uncommitted when the rebuild
    // reads (the watermark does not show it, so it takes no first place from the hour's hits).
    const lander = await insertHit(rig.t.db, tenant, {
      node: "lander",
      at: now - 3 * HOUR,
      visitorId: returning,
    });
    const pending = await openTransaction(rig.other, (tx) =>
      insertHit(tx, tenant, { node: "entry", at: now - 2 * HOUR, visitorId: returning }),
    );
    // The rebuilt hour: the returning visitor on the lander again (no first visit anywhere), on an
    // offer (first on the node, not in the funnel) with a click out of the earlier lander; a new
    // visitor; and a visitor twice on one node within the hour.
    await insertHit(rig.t.db, tenant, { node: "lander", at: hour + 1, visitorId: returning });
    await insertHit(rig.t.db, tenant, {
      node: "offerA",
      at: hour + 2,
      visitorId: returning,
      prevHitId: lander.id,
    });
    await insertHit(rig.t.db, tenant, { node: "offerA", at: hour + 3, visitorId: fresh });
    await insertHit(rig.t.db, tenant, { node: "entry", at: hour + 4, visitorId: twice });
    await insertHit(rig.t.db, tenant, { node: "entry", at: hour + 5, visitorId: twice });
    await sweepHitRollups(rig.maintenance.db);
    const range = { from: now - 4 * HOUR, to: hour + HOUR };
    const swept = await stored(tenant, range.from, range.to);
    const inHour = swept.filter((r) => r.hour === new Date(hour).toISOString());
    const sum = (k: "visits" | "uniqueNodeVisits" | "uniqueFunnelVisits" | "actionClicks") =>
      inHour.reduce((total, r) => total + r[k], 0);
    expect([sum("visits"), sum("uniqueNodeVisits"), sum("uniqueFunnelVisits"), sum("actionClicks")]).toEqual([
      5, 3, 2, 1,
    ]);

    await recomputeHitRollups(rig.maintenance.db, {
      workspaceId: tenant.workspaceId,
      from: new Date(hour),
      to: new Date(hour + HOUR),
    });
    expect(await stored(tenant, range.from, range.to)).toEqual(swept);

    // Once the entry commits, the sweep and a rebuild of its hour agree again.
    await pending.commit();
    await sweepHitRollups(rig.maintenance.db);
    const later = await stored(tenant, range.from, range.to);
    await recomputeHitRollups(rig.maintenance.db, {
      workspaceId: tenant.workspaceId,
      from: new Date(range.from),
      to: new Date(range.to),
    });
    expect(await stored(tenant, range.from, range.to)).toEqual(later);
  });

  it("matches a rebuild after many writers commit out of order around sweeps and rebuilds", async () => {
    const tenant = await seedTenant(rig.t.db);
    const bystander = await seedTenant(rig.t.db);
    const now = Date.now();
    const visitors = Array.from({ length: 6 }, (_, i) => newIdAt(now - i));
    const nodes = ["entry", "lander", "offerA", "offerB"] as const;
    let n = 0;
    // Journeys: a hit written outside the open transactions continues its visitor's last committed
    // hit (entrances, and clicks out of landers, filed under the lander in the click's hour).
    const committedLast = new Map<string, string>();
    const someHits = (tx: DbClient["db"], count: number) =>
      (async () => {
        for (let i = 0; i < count; i++) {
          n++;
          const owner = n % 5 === 0 ? bystander : tenant;
          const visitorId = visitors[n % visitors.length] as string;
          const prev = tx === rig.t.db && owner === tenant ? committedLast.get(visitorId) : undefined;
          const hit = await insertHit(tx, owner, {
            node: nodes[n % nodes.length]!,
            at: now - ((n * 7919) % (5 * HOUR)),
            visitorId,
            cost: n % 3 === 0 ? "0.1" : null,
            isBot: n % 11 === 0,
            trackingFields: n % 7 === 0 ? {} : { zone: `z${n % 3}` },
            campaign: n % 2 === 0 ? `c${n % 4}` : null,
            ...(prev && n % 4 !== 0 ? { prevHitId: prev } : {}),
          });
          if (tx === rig.t.db && owner === tenant) committedLast.set(visitorId, hit.id);
        }
      })();
    const range = { from: now - 6 * HOUR, to: now + HOUR };
    const open = [];
    for (let round = 0; round < 6; round++) {
      open.push(await openTransaction(rig.other, (tx) => someHits(tx, 4)));
      await someHits(rig.t.db, 3);
      if (round % 2 === 1) await open.shift()?.commit();
      if (round === 3) await open.shift()?.rollback();
      await sweepHitRollups(rig.maintenance.db);
      if (round === 2) {
        await recomputeHitRollups(rig.maintenance.db, {
          workspaceId: tenant.workspaceId,
          from: new Date(range.from),
          to: new Date(range.to),
        });
      }
    }
    for (const tx of open) await tx.commit();
    await sweepHitRollups(rig.maintenance.db);
    const swept = await stored(tenant, range.from, range.to);
    const bystanderSwept = await stored(bystander, range.from, range.to);
    const fieldsSwept = await storedFields(tenant, range.from, range.to);
    const tuplesSwept = await storedTuples(tenant);
    expect(tuplesSwept.days.length).toBeGreaterThan(0);
    expect(fieldsSwept.hours.length).toBeGreaterThan(0);
    expect(fieldsSwept.days.length).toBeGreaterThan(0);
    const [raw] = await rig.t.db.execute<{ n: number }>(
      sql`select count(*)::int as n from hits where workspace_id = ${tenant.workspaceId}`,
    );
    expect(swept.reduce((sum, r) => sum + r.visits, 0)).toBe(raw?.n);
    // The journeys gave the sweep entrances and lander clicks to count, not only page views.
    expect(swept.reduce((sum, r) => sum + r.actionClicks, 0)).toBeGreaterThan(0);
    expect(swept.reduce((sum, r) => sum + r.entrances, 0)).toBeLessThan(raw?.n ?? 0);

    await recomputeHitRollups(rig.maintenance.db, { from: new Date(range.from), to: new Date(range.to) });
    expect(await stored(tenant, range.from, range.to)).toEqual(swept);
    expect(await stored(bystander, range.from, range.to)).toEqual(bystanderSwept);
    // The visits-by-field rows too, hours and the days summed from them.
    expect(await storedFields(tenant, range.from, range.to)).toEqual(fieldsSwept);
    expect(await storedTuples(tenant)).toEqual(tuplesSwept);

    // Whole UTC days, as a recompute rebuilds all but its first and last: the day rows are summed in
    // the statement that writes the hours, not read back from them. The day before too, so there
    // are always two days, rebuilt side by side.
    const days = {
      from: new Date(Math.floor(range.from / DAY) * DAY - DAY),
      to: new Date(Math.ceil(range.to / DAY) * DAY),
    };
    const rebuilt = await recomputeHitRollups(rig.maintenance.db, days);
    // Its days rebuilt two at a time, every one's rows counted.
    const [written] = await rig.maintenance.db.execute<{ n: number }>(
      sql`select count(*)::int as n from hit_rollups_hourly where hour >= ${days.from.toISOString()}::timestamptz
            and hour < ${days.to.toISOString()}::timestamptz`,
    );
    expect(rebuilt.rows).toBe(written?.n);
    expect(await stored(tenant, range.from, range.to)).toEqual(swept);
    expect(await stored(bystander, range.from, range.to)).toEqual(bystanderSwept);
    expect(await storedFields(tenant, range.from, range.to)).toEqual(fieldsSwept);
    expect(await storedTuples(tenant)).toEqual(tuplesSwept);
  });
});
