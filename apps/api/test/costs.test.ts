import { spreadCost } from "@hitrail/core";
import { createApiKey, newIdAt, recomputeRollups, withWorkspace } from "@hitrail/db";
import { factories } from "@hitrail/db/testing";
import { schema, sql } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, expectCode, type Harness, startHarness } from "./harness.ts";

// Cost updates end to end through tRPC: a total spread over a range's visits with exact cents in
// reports.run (rows and totals, rollup and raw paths), replaced, undone, per visit, zone-scoped,
// a cost file with bad lines, and a second workspace that sees none of it.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TZ = "America/New_York";

/** The UTC instant of a New York wall-clock time (the tests' day is far from DST changes). */
function nyTime(date: string, hour: number, minute = 0): Date {
  // Five hours behind UTC in winter, four in summer: ask Intl which one applies.
  for (const offset of [5, 4]) {
    const t = new Date(
      `${date}T${String(hour + offset).padStart(2, "0")}:${String(minute).padStart(2, "0")}:00Z`,
    );
    const local = new Intl.DateTimeFormat("en-CA", {
      timeZone: TZ,
      hour: "2-digit",
      hourCycle: "h23",
    }).format(t);
    if (Number(local) === hour) return t;
  }
  throw new Error("no offset");
}

interface World {
  workspaceId: string;
  client: Client;
  trafficSourceId: string;
  otherSourceId: string;
  funnelId: string;
  day: string;
  visits: string[];
}

async function seedWorld(): Promise<World> {
  const { workspace } = await factories.workspace(h.t.db, { timeZone: TZ });
  const kit = await factories.campaign(h.t.db, workspace.id);
  const [other] = await h.t.db
    .insert(schema.trafficSources)
    .values({ workspaceId: workspace.id, name: "Other source" })
    .returning();
  if (!other) throw new Error("no traffic source");
  const day = new Date(Date.now() - 3 * DAY).toISOString().slice(0, 10);
  // Three entrance visits of the source (zones z1, z1, z2) at 10:00, 11:00 and 15:00 local, each
  // carrying a click cost of 0.5; a lander → offer step of the first (no cost of its own); one
  // entrance visit of another source; one visit of the source the next day.
  const at = [nyTime(day, 10, 5), nyTime(day, 11, 30), nyTime(day, 15, 45)];
  const zones = ["z1", "z1", "z2"];
  const visits = at.map((t) => newIdAt(t.getTime()));
  const base = {
    workspaceId: workspace.id,
    funnelId: kit.funnelId,
    nodeId: kit.nodes.lander,
    pageId: kit.landerId,
    pageKind: "lander" as const,
    country: "US",
  };
  const offerHit = newIdAt(at[0]!.getTime() + 60_000);
  const otherHit = newIdAt(at[1]!.getTime() + 1000);
  const nextDayHit = newIdAt(at[2]!.getTime() + DAY);
  await h.t.db.insert(schema.hits).values([
    ...visits.map((id, i) => ({
      ...base,
      id,
      visitorId: newIdAt(at[i]!.getTime()),
      trafficSourceId: kit.trafficSourceId,
      cost: "0.5",
      trackingFields: { zone: zones[i] as string },
      createdAt: at[i]!,
    })),
    {
      ...base,
      id: offerHit,
      visitorId: newIdAt(at[0]!.getTime()),
      nodeId: kit.nodes.offerA,
      pageId: kit.offerIds[0],
      pageKind: "offer" as const,
      trafficSourceId: kit.trafficSourceId,
      trackingFields: { zone: "z1" },
      prevHitId: visits[0] as string,
      createdAt: new Date(at[0]!.getTime() + 60_000),
    },
    {
      ...base,
      id: otherHit,
      visitorId: newIdAt(at[1]!.getTime()),
      trafficSourceId: other.id,
      cost: "2",
      createdAt: new Date(at[1]!.getTime() + 1000),
    },
    {
      ...base,
      id: nextDayHit,
      visitorId: newIdAt(at[2]!.getTime()),
      trafficSourceId: kit.trafficSourceId,
      cost: "0.5",
      trackingFields: { zone: "z1" },
      createdAt: new Date(at[2]!.getTime() + DAY),
    },
  ]);
  await recomputeRollups(h.t.db, {
    workspaceId: workspace.id,
    from: new Date(at[0]!.getTime() - DAY),
    to: new Date(at[2]!.getTime() + 2 * DAY),
  });
  const { key } = await createApiKey(h.t.db, { workspaceId: workspace.id, name: "costs", role: "member" });
  return {
    workspaceId: workspace.id,
    client: h.client({ key }),
    trafficSourceId: kit.trafficSourceId,
    otherSourceId: other.id,
    funnelId: kit.funnelId,
    day,
    visits,
  };
}

/** Cost per local hour of the day and the totals, for one traffic source (rollup path). */
async function costByHour(w: World, trafficSourceId = w.trafficSourceId) {
  const r = await w.client.reports.run.query({
    workspaceId: w.workspaceId,
    from: w.day,
    to: w.day,
    groupBy: ["hour"],
    trafficSourceId,
  });
  return {
    rows: Object.fromEntries(r.rows.map((x) => [x.key.hour?.slice(11), x.metrics.cost])),
    updated: Object.fromEntries(r.rows.map((x) => [x.key.hour?.slice(11), x.metrics.costUpdatedVisits])),
    total: r.totals.cost,
    totals: r.totals,
    notes: r.notes,
  };
}

/** Cost per zone (raw path). */
async function costByZone(w: World) {
  const r = await w.client.reports.run.query({
    workspaceId: w.workspaceId,
    from: w.day,
    to: w.day,
    groupBy: ["trackingField"],
    trackingField: "zone",
    trafficSourceId: w.trafficSourceId,
  });
  return {
    rows: Object.fromEntries(r.rows.map((x) => [x.key.trackingField, x.metrics.cost])),
    total: r.totals.cost,
  };
}

describe("cost updates", () => {
  let w: World;
  beforeAll(async () => {
    w = await seedWorld();
  });

  it("reports what the clicks carried before any update", async () => {
    const r = await costByHour(w);
    expect(r.rows).toEqual({ "10:00": "0.5", "11:00": "0.5", "15:00": "0.5" });
    expect(r.total).toBe("1.5");
    expect(r.totals.costUpdatedVisits).toBe(0);
    expect(r.notes.join(" ")).not.toMatch(/cost updates/);
  });

  it("spreads a total over the range's entrance visits in exact cents, replaces it, and undoes both", async () => {
    const set = (amount: string) =>
      w.client.costs.set.mutate({
        workspaceId: w.workspaceId,
        trafficSourceId: w.trafficSourceId,
        from: w.day,
        to: w.day,
        amount,
      });
    const first = await set("100");
    expect(first).toMatchObject({
      visits: 3,
      allocated: "100",
      replacedCost: "1.5",
      status: "live",
      mode: "total",
    });
    expect(first.from).toBe(`${w.day}T00:00`);
    expect(first.timeZone).toBe(TZ);
    expect(first.notes).toEqual([]);

    // 100 / 3 in cents: the one extra cent goes to the last visit (cumulative rounding). The offer
    // step of the first visit keeps no cost (cost belongs to entrances), so 10:00 is 33.33.
    let r = await costByHour(w);
    expect(r.rows).toEqual({ "10:00": "33.33", "11:00": "33.33", "15:00": "33.34" });
    expect(r.total).toBe("100");
    expect(r.updated).toEqual({ "10:00": 1, "11:00": 1, "15:00": 1 });
    expect(r.totals).toMatchObject({ costUpdatedVisits: 3, profit: "-100", roi: -1 });
    expect(r.notes.join(" ")).toMatch(/cost of 3 visit\(s\) is from cost updates/);
    // The other source's visit keeps its click's cost.
    expect((await costByHour(w, w.otherSourceId)).total).toBe("2");

    // SQL spreads exactly as core's rule says, visit by visit in time order.
    const shares = await withWorkspace(h.t.db, w.workspaceId, (tx) =>
      tx.execute<{ amount: string }>(
        sql`select amount::text from cost_allocations where update_id = ${first.id} order by hit_id`,
      ),
    );
    expect(shares.map((s) => Number(s.amount).toFixed(2))).toEqual(
      spreadCost("100", 3).map((s) => Number(s).toFixed(2)),
    );

    // A later update of the same range and scope replaces it.
    const second = await set("50");
    expect(second.replacedCost).toBe("100");
    r = await costByHour(w);
    expect(r.rows).toEqual({ "10:00": "16.66", "11:00": "16.67", "15:00": "16.67" });
    expect(r.total).toBe("50");
    let list = await w.client.costs.list.query({ workspaceId: w.workspaceId });
    expect(list.items.map((u) => [u.id, u.status, u.replacedBy])).toEqual([
      [second.id, "live", []],
      [first.id, "replaced", [second.id]],
    ]);
    expect(list.items[0]?.createdBy).toBe("API key costs");
    expect(list.items[0]?.trafficSourceName).toBe("Demo traffic source");

    // Undo restores the previous state exactly, then the clicks' own costs.
    const undone = await w.client.costs.undo.mutate({ workspaceId: w.workspaceId, updateId: second.id });
    expect(undone.status).toBe("undone");
    expect(undone.undoneBy).toBe("API key costs");
    r = await costByHour(w);
    expect(r.rows).toEqual({ "10:00": "33.33", "11:00": "33.33", "15:00": "33.34" });
    expect(r.total).toBe("100");
    list = await w.client.costs.list.query({ workspaceId: w.workspaceId });
    expect(list.items.map((u) => u.status)).toEqual(["undone", "live"]);
    await w.client.costs.undo.mutate({ workspaceId: w.workspaceId, updateId: first.id });
    r = await costByHour(w);
    expect(r.rows).toEqual({ "10:00": "0.5", "11:00": "0.5", "15:00": "0.5" });
    expect(r.totals.costUpdatedVisits).toBe(0);
    await expectCode(
      w.client.costs.undo.mutate({ workspaceId: w.workspaceId, updateId: first.id }),
      "CONFLICT",
      /already undone/,
    );
  });

  it("sets a price per visit, and a zone's total over it, in both the rollup and the raw report", async () => {
    const perVisit = await w.client.costs.set.mutate({
      workspaceId: w.workspaceId,
      trafficSourceId: w.trafficSourceId,
      from: w.day,
      to: w.day,
      mode: "per_visit",
      amount: "0.2",
    });
    expect(perVisit).toMatchObject({ visits: 3, allocated: "0.6", amount: "0.2", mode: "per_visit" });
    expect((await costByHour(w)).rows).toEqual({ "10:00": "0.2", "11:00": "0.2", "15:00": "0.2" });

    const zone = await w.client.costs.set.mutate({
      workspaceId: w.workspaceId,
      trafficSourceId: w.trafficSourceId,
      field: { name: "zone", value: "z1" },
      from: `${w.day}T00:00`,
      to: `${w.day}T23:00`,
      amount: "10",
    });
    expect(zone).toMatchObject({ visits: 2, allocated: "10", fieldName: "zone", fieldValue: "z1" });
    const byHour = await costByHour(w);
    expect(byHour.rows).toEqual({ "10:00": "5", "11:00": "5", "15:00": "0.2" });
    expect(byHour.total).toBe("10.2");
    // Grouped by zone the report reads raw hits: the same costs, split by zone.
    const byZone = await costByZone(w);
    expect(byZone.rows).toEqual({ z1: "10", z2: "0.2" });
    expect(byZone.total).toBe("10.2");
    // The per-visit update is only partly covered by the zone's (another scope): still live.
    const list = await w.client.costs.list.query({ workspaceId: w.workspaceId });
    expect(list.items.slice(0, 2).map((u) => u.status)).toEqual(["live", "live"]);

    // Undoing the per-visit update leaves the zone's and gives z2 its click's cost back.
    await w.client.costs.undo.mutate({ workspaceId: w.workspaceId, updateId: perVisit.id });
    expect(await costByZone(w)).toEqual({ rows: { z1: "10", z2: "0.5" }, total: "10.5" });
    expect((await costByHour(w)).total).toBe("10.5");
  });

  it("refuses bad input with the field named, and a range without visits", async () => {
    const base = { workspaceId: w.workspaceId, trafficSourceId: w.trafficSourceId, from: w.day, to: w.day };
    await expectCode(
      w.client.costs.set.mutate({ ...base, amount: "-5" }),
      "BAD_REQUEST",
      /amount: is negative/,
    );
    await expectCode(
      w.client.costs.set.mutate({ ...base, amount: "abc" }),
      "BAD_REQUEST",
      /amount: is not an amount/,
    );
    await expectCode(
      w.client.costs.set.mutate({ ...base, from: "2026-02-30", amount: "1" }),
      "BAD_REQUEST",
      /from: '2026-02-30' is not a date/,
    );
    await expectCode(
      w.client.costs.set.mutate({ workspaceId: w.workspaceId, from: w.day, to: w.day, amount: "1" }),
      "BAD_REQUEST",
      /trafficSourceId: name what the cost is for/,
    );
    await expectCode(
      w.client.costs.set.mutate({ ...base, from: "2020-01-01", to: "2020-01-01", amount: "1" }),
      "BAD_REQUEST",
      /no visits match this cost/,
    );
  });

  it("uploads a cost file, refusing one with bad lines whole, line by line", async () => {
    const before = (await w.client.costs.list.query({ workspaceId: w.workspaceId })).items.length;
    const bad = [
      "date,source,zone,amount",
      `${w.day},Demo traffic source,z2,7`,
      `${w.day},No such source,z1,3`,
      "2026-13-01,Demo traffic source,z1,3",
      `${w.day},Demo traffic source,z1,-1`,
      `${w.day},Other source,z9,4`,
    ].join("\n");
    const message = await expectCode(
      w.client.costs.upload.mutate({ workspaceId: w.workspaceId, fileName: "bad.csv", csv: bad }),
      "BAD_REQUEST",
      /csv: nothing was changed; 4 bad line\(s\)/,
    );
    expect(message).toMatch(/line 3: source 'No such source' is not a traffic source/);
    expect(message).toMatch(/line 4: date '2026-13-01' is not a date/);
    expect(message).toMatch(/line 5: amount '-1' is negative/);
    expect(message).toMatch(/line 6: no visits of 'Other source' with zone 'z9'/);
    expect((await w.client.costs.list.query({ workspaceId: w.workspaceId })).items).toHaveLength(before);
    expect((await costByZone(w)).total).toBe("10.5");

    const good = await w.client.costs.upload.mutate({
      workspaceId: w.workspaceId,
      fileName: "spend.csv",
      csv: `date,source,zone,amount\n${w.day},demo traffic source,z2,7\n${w.day},Other source,,4\n`,
    });
    expect(good.updates.map((u) => [u.fileLine, u.origin, u.fieldValue, u.visits, u.allocated])).toEqual([
      [2, "csv", "z2", 1, "7"],
      [3, "csv", null, 1, "4"],
    ]);
    expect(await costByZone(w)).toEqual({ rows: { z1: "10", z2: "7" }, total: "17" });
    expect((await costByHour(w, w.otherSourceId)).total).toBe("4");
  });

  it("covers every source's entrance visits of a funnel, and warns of a range that has not ended", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const funnel = await w.client.costs.set.mutate({
      workspaceId: w.workspaceId,
      funnelId: w.funnelId,
      from: w.day,
      to: today,
      amount: "9",
    });
    // Three entrance visits of the source, one of the other source, one the next day.
    expect(funnel).toMatchObject({ visits: 5, allocated: "9", funnelName: "Demo funnel" });
    expect(funnel.notes.join(" ")).toMatch(/the range ends in the future/);
    const byHour = await costByHour(w);
    expect(byHour.total).toBe("5.4");
    expect((await costByHour(w, w.otherSourceId)).total).toBe("1.8");
    await w.client.costs.undo.mutate({ workspaceId: w.workspaceId, updateId: funnel.id });
    expect((await costByZone(w)).total).toBe("17");
  });

  it("keeps another workspace's costs and updates apart", async () => {
    const b = h.b;
    const bClient = h.client({ key: b.keys.owner });
    expect((await bClient.costs.list.query({ workspaceId: b.workspace.id })).items).toEqual([]);
    const aUpdate = (await w.client.costs.list.query({ workspaceId: w.workspaceId })).items[0];
    if (!aUpdate) throw new Error("no update");
    await expectCode(
      bClient.costs.undo.mutate({ workspaceId: b.workspace.id, updateId: aUpdate.id }),
      "NOT_FOUND",
    );
    await expectCode(
      bClient.costs.set.mutate({
        workspaceId: b.workspace.id,
        trafficSourceId: w.trafficSourceId,
        from: w.day,
        to: w.day,
        amount: "1",
      }),
      "NOT_FOUND",
    );
    // A's key cannot act in B.
    await expectCode(w.client.costs.list.query({ workspaceId: b.workspace.id }), "NOT_FOUND");
    // B's name for its source does not reach A's visits: the file refers to B's own source only.
    await expectCode(
      bClient.costs.upload.mutate({
        workspaceId: b.workspace.id,
        csv: `date,source,amount\n${w.day},${w.trafficSourceId},5\n`,
      }),
      "BAD_REQUEST",
      /is not a traffic source of this workspace/,
    );
    expect((await costByZone(w)).total).toBe("17");
  });
});
