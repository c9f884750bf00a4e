import { idTime, newIdAt, recomputeRollups } from "@hitrail/db";
import { factories } from "@hitrail/db/testing";
import { schema } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCode, type Harness, startHarness } from "./harness.ts";

// The report grid's numbers on a small journey set, exact: visits are entrances (a visitor on a
// lander and then an offer is one visit, two page views), clicks are lander → next page, bots are
// counted apart and left out unless asked, drill-down parents filter the children, the previous
// period sits beside, and preferences are per user and workspace.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const DAY = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
// Noon UTC three days ago: the report day D, and D−1 for the comparison (the workspace is in UTC).
const D = Math.floor(Date.now() / DAY) * DAY - 3 * DAY + 12 * 3_600_000;

async function seed() {
  const { workspace } = await factories.workspace(h.t.db);
  const kit = await factories.campaign(h.t.db, workspace.id);
  const hits: Array<typeof schema.hits.$inferInsert> = [];
  const conversions: Array<typeof schema.conversions.$inferInsert> = [];
  let clock = 0;
  /** One visitor's journey: a lander entrance, then optionally an offer click and a sale there. */
  const journey = (
    at: number,
    opts: {
      zone: string;
      campaign: string;
      offer?: "offerA" | "offerB";
      sale?: string;
      bot?: boolean;
      cost: string;
    },
  ) => {
    const start = at + clock++ * 1000;
    const visitorId = newIdAt(start);
    const lander = newIdAt(start);
    const common = {
      workspaceId: workspace.id,
      visitorId,
      funnelId: kit.funnelId,
      trafficSourceId: kit.trafficSourceId,
      trackingFields: { zone: opts.zone },
      campaign: opts.campaign,
      country: "DE",
      isBot: opts.bot ?? false,
    };
    hits.push({
      ...common,
      id: lander,
      nodeId: kit.nodes.lander,
      pageId: kit.landerId,
      pageKind: "lander",
      cost: opts.cost,
      prevHitId: null,
      createdAt: new Date(idTime(lander)),
    });
    if (!opts.offer) return;
    const offer = newIdAt(start + 500);
    const pageId = opts.offer === "offerA" ? kit.offerIds[0] : kit.offerIds[1];
    hits.push({
      ...common,
      id: offer,
      nodeId: kit.nodes[opts.offer],
      pageId,
      pageKind: "offer",
      prevHitId: lander,
      createdAt: new Date(idTime(offer)),
    });
    if (!opts.sale) return;
    conversions.push({
      workspaceId: workspace.id,
      hitId: offer,
      revenue: opts.sale,
      status: "approved",
      visitorId,
      funnelId: kit.funnelId,
      nodeId: kit.nodes[opts.offer],
      pageId,
      pageKind: "offer",
      trafficSourceId: kit.trafficSourceId,
      hitAt: new Date(idTime(offer)),
      convertedAt: new Date(idTime(offer) + 60_000),
    });
  };
  journey(D, { zone: "z1", campaign: "c1", offer: "offerA", sale: "10", cost: "0.5" });
  journey(D, { zone: "z1", campaign: "c1", cost: "0.5" });
  journey(D, { zone: "z2", campaign: "c2", offer: "offerB", sale: "30", cost: "0.5" });
  journey(D, { zone: "z2", campaign: "c2", offer: "offerA", bot: true, cost: "0.5" });
  // The day before: one journey with a sale of 5.
  journey(D - DAY, { zone: "z1", campaign: "c1", offer: "offerA", sale: "5", cost: "0.25" });
  await h.t.db.insert(schema.hits).values(hits);
  await h.t.db.insert(schema.conversions).values(conversions);
  await recomputeRollups(h.t.db, {
    workspaceId: workspace.id,
    from: new Date(D - 2 * DAY),
    to: new Date(D + DAY),
  });
  const viewer = await h.user({ workspaceId: workspace.id, role: "viewer" });
  const client = h.client({ cookie: viewer.cookie });
  const range = { workspaceId: workspace.id, from: dayOf(D), to: dayOf(D) };
  return { workspace, kit, client, range, viewer };
}

let world: Awaited<ReturnType<typeof seed>>;
beforeAll(async () => {
  world = await seed();
});

describe("reports.run metrics", () => {
  it("counts a journey as one visit: entrances, page views, clicks, CTR, EPC, CPA; bots apart", async () => {
    const { client, range, kit } = world;
    const r = await client.reports.run.query({ ...range, groupBy: ["trafficSource"] });
    expect(r.rows).toHaveLength(1);
    const m = r.rows[0]?.metrics;
    expect(r.rows[0]?.key.trafficSource).toBe(kit.trafficSourceId);
    expect(m).toMatchObject({
      visits: 3,
      pageViews: 5,
      clicks: 2,
      ctr: 0.666667,
      uniqueVisitors: 3,
      bots: 2,
      // Cost is money spent, bots or not.
      cost: "2",
      direct: { conversions: 2, revenue: "40" },
      cr: 0.666667,
      profit: "38",
      roi: 19,
      epv: "13.333333",
      epc: "20",
      cpa: "1",
    });
    expect(r.totals).toMatchObject({ visits: 3, pageViews: 5, clicks: 2, bots: 2, cost: "2" });
    expect(r.notes.join(" ")).toMatch(/bots are left out/);

    const withBots = await client.reports.run.query({
      ...range,
      groupBy: ["trafficSource"],
      includeBots: true,
    });
    expect(withBots.rows[0]?.metrics).toMatchObject({
      visits: 4,
      pageViews: 7,
      clicks: 3,
      ctr: 0.75,
      uniqueVisitors: 4,
      bots: 2,
      cr: 0.5,
      epv: "10",
      epc: "13.333333",
    });
  });

  it("one visitor on a lander then an offer with one sale: visits 1, page views 2, CR 100%", async () => {
    const { client, kit } = world;
    const prev = { workspaceId: world.workspace.id, from: dayOf(D - DAY), to: dayOf(D - DAY) };
    const r = await client.reports.run.query({ ...prev, groupBy: ["funnel"] });
    expect(r.rows.map((x) => [x.key.funnel, x.metrics.visits, x.metrics.pageViews, x.metrics.cr])).toEqual([
      [kit.funnelId, 1, 2, 1],
    ]);
  });

  it("on page rows, visits are the page's views and CTR is the lander's clicks over its views", async () => {
    const { client, range, kit } = world;
    const r = await client.reports.run.query({
      ...range,
      groupBy: ["node"],
      filters: [{ dimension: "funnel", value: kit.funnelId }],
    });
    const byNode = Object.fromEntries(
      r.rows.map((x) => [x.key.node, [x.metrics.visits, x.metrics.clicks, x.metrics.ctr, x.metrics.direct]]),
    );
    expect(byNode).toEqual({
      [kit.nodes.lander]: [3, 2, 0.666667, { conversions: 0, revenue: "0" }],
      [kit.nodes.offerA]: [1, 0, 0, { conversions: 1, revenue: "10" }],
      [kit.nodes.offerB]: [1, 0, 0, { conversions: 1, revenue: "30" }],
    });
  });
});

describe("reports.run drill-down", () => {
  it("traffic source → zone → offer: each level filtered by its parents' keys", async () => {
    const { client, range, kit } = world;
    const ts = { dimension: "trafficSource" as const, value: kit.trafficSourceId };
    const zones = await client.reports.run.query({ ...range, groupBy: ["field:zone"], filters: [ts] });
    expect(
      Object.fromEntries(
        zones.rows.map((x) => [
          x.key["field:zone"],
          [x.metrics.visits, x.metrics.clicks, x.metrics.cost, x.metrics.direct?.revenue, x.metrics.cpa],
        ]),
      ),
    ).toEqual({ z1: [2, 1, "1", "10", "1"], z2: [1, 1, "1", "30", "1"] });

    const offers = await client.reports.run.query({
      ...range,
      groupBy: ["offer"],
      filters: [ts, { dimension: "field:zone", value: "z1" }],
    });
    expect(
      Object.fromEntries(offers.rows.map((x) => [String(x.key.offer), [x.metrics.visits, x.metrics.direct]])),
    ).toEqual({
      // The lander's views (no offer) and offer A's.
      null: [2, { conversions: 0, revenue: "0" }],
      [kit.offerIds[0]]: [1, { conversions: 1, revenue: "10" }],
    });
    expect(offers.rows.find((x) => x.key.offer === kit.offerIds[0])?.labels.offer).toBeTruthy();

    // A parent of "(none)" is a null value.
    const noOffer = await client.reports.run.query({
      ...range,
      groupBy: ["node"],
      filters: [ts, { dimension: "offer", value: null }],
    });
    expect(noOffer.rows.map((x) => [x.key.node, x.metrics.visits])).toEqual([[kit.nodes.lander, 3]]);
  });

  it("campaign is a tracking field by name, read from the campaign parameter's column", async () => {
    const { client, range } = world;
    const r = await client.reports.run.query({ ...range, groupBy: ["field:campaign"] });
    expect(
      Object.fromEntries(
        r.rows.map((x) => [x.key["field:campaign"], [x.metrics.visits, x.metrics.direct?.revenue]]),
      ),
    ).toEqual({ c1: [2, "10"], c2: [1, "30"] });
    const fields = await client.reports.trackingFields.query({ workspaceId: world.workspace.id });
    expect(fields.map((f) => f.name)).toEqual(["campaign", "creative", "zone"]);
    expect(fields.find((f) => f.name === "zone")?.sources).toEqual([
      { id: world.kit.trafficSourceId, name: expect.any(String), param: "zone" },
    ]);
  });

  it("refuses a filter id that is no id, naming the field", async () => {
    const { client, range } = world;
    await expectCode(
      client.reports.run.query({ ...range, filters: [{ dimension: "funnel", value: "nope" }] }),
      "BAD_REQUEST",
      /filters\[0\]\.value/,
    );
    await expectCode(
      client.reports.run.query({ ...range, groupBy: ["field:bad name" as "funnel"] }),
      "BAD_REQUEST",
      /groupBy/,
    );
  });
});

describe("reports.run comparison", () => {
  it("puts the previous period of the same length beside each row and the totals", async () => {
    const { client, range } = world;
    const r = await client.reports.run.query({ ...range, groupBy: ["field:zone"], compare: true });
    expect(r.previous).toEqual({ from: dayOf(D - DAY), to: dayOf(D - DAY) });
    const z1 = r.rows.find((x) => x.key["field:zone"] === "z1");
    const z2 = r.rows.find((x) => x.key["field:zone"] === "z2");
    expect(z1?.previous).toMatchObject({ visits: 1, cost: "0.25", direct: { conversions: 1, revenue: "5" } });
    expect(z2?.previous).toMatchObject({ visits: 0, cost: "0", direct: { conversions: 0, revenue: "0" } });
    expect(r.previousTotals).toMatchObject({ visits: 1, pageViews: 2, clicks: 1, direct: { revenue: "5" } });
    const plain = await client.reports.run.query({ ...range, groupBy: ["field:zone"] });
    expect(plain.previous).toBeNull();
    expect(plain.rows[0]?.previous).toBeNull();
  });
});

describe("isolation and preferences", () => {
  it("another workspace's ids as filters find nothing; its tracking fields are not listed", async () => {
    const b = h.b;
    const r = await world.client.reports.run.query({
      ...world.range,
      groupBy: ["trafficSource"],
      filters: [{ dimension: "trafficSource", value: b.kit.trafficSourceId }],
    });
    expect(r.rows).toEqual([]);
    expect(r.totals.visits).toBe(0);
    const bFields = await h.client({ cookie: b.users.owner.cookie }).reports.trackingFields.query({
      workspaceId: b.workspace.id,
    });
    expect(bFields.flatMap((f) => f.sources.map((s) => s.id))).not.toContain(world.kit.trafficSourceId);
  });

  it("remembers the column choice per user and per workspace", async () => {
    const ws = world.workspace.id;
    const other = await h.user({ workspaceId: ws, role: "viewer" });
    const me = h.client({ cookie: world.viewer.cookie });
    expect((await me.reports.preferences.query({ workspaceId: ws })).columns).toBeNull();
    await me.reports.savePreferences.mutate({ workspaceId: ws, columns: ["revenue", "visits", "epc"] });
    expect((await me.reports.preferences.query({ workspaceId: ws })).columns).toEqual([
      "revenue",
      "visits",
      "epc",
    ]);
    await me.reports.savePreferences.mutate({ workspaceId: ws, columns: ["cpa"] });
    expect((await me.reports.preferences.query({ workspaceId: ws })).columns).toEqual(["cpa"]);
    // Another user of the same workspace has their own.
    expect(
      (await h.client({ cookie: other.cookie }).reports.preferences.query({ workspaceId: ws })).columns,
    ).toBeNull();
    // The same user in another workspace: a membership there, and nothing remembered yet.
    const { workspace: second } = await factories.workspace(h.t.db);
    await h.t.db
      .insert(schema.memberships)
      .values({ workspaceId: second.id, userId: world.viewer.id, role: "viewer" });
    expect((await me.reports.preferences.query({ workspaceId: second.id })).columns).toBeNull();
    await expectCode(
      me.reports.savePreferences.mutate({ workspaceId: ws, columns: ["visits", "visits"] }),
      "BAD_REQUEST",
      /columns/,
    );
  });
});

describe("reports.csv", () => {
  it("writes the grid's metric columns in the grid's order", async () => {
    const { client, range } = world;
    const { csv } = await client.reports.csv.query({ ...range, groupBy: ["field:zone"] });
    const lines = csv.trimEnd().split("\r\n");
    expect(lines[0]).toBe(
      "zone,zone id,Visits,Page views,Clicks,CTR,Unique visitors,Conversions,CR,Revenue,Cost,Profit,ROI,EPV,EPC,CPA,Assisted conversions,Assisted revenue,Bots",
    );
    expect(lines).toContain("z1,z1,2,3,1,0.5,2,1,0.5,10,1,9,9,5,10,1,0,0,0");
    expect(lines.at(-1)).toBe("Total,,3,5,2,0.666667,3,2,0.666667,40,2,38,19,13.333333,20,1,0,0,2");
  });
});

describe("conversions.list for the conversions screen", () => {
  it("shows names, click ID and country; searches by hit, tx or click ID; hides rejected unless asked", async () => {
    const { workspace, kit, client } = world;
    const at = D + 3_600_000;
    const hitId = newIdAt(at);
    const visitorId = newIdAt(at);
    await h.t.db.insert(schema.hits).values({
      id: hitId,
      workspaceId: workspace.id,
      visitorId,
      funnelId: kit.funnelId,
      nodeId: kit.nodes.offerA,
      pageId: kit.offerIds[0],
      pageKind: "offer",
      trafficSourceId: kit.trafficSourceId,
      externalId: "EXT-777",
      country: "FR",
      createdAt: new Date(idTime(hitId)),
    });
    const base = {
      workspaceId: workspace.id,
      hitId,
      visitorId,
      funnelId: kit.funnelId,
      nodeId: kit.nodes.offerA,
      pageId: kit.offerIds[0],
      pageKind: "offer" as const,
      trafficSourceId: kit.trafficSourceId,
      hitAt: new Date(idTime(hitId)),
      convertedAt: new Date(at + 1000),
    };
    await h.t.db.insert(schema.conversions).values([
      { ...base, tx: "TX-9", revenue: "7", status: "approved" },
      { ...base, tx: "TX-10", revenue: "3", status: "rejected", deletedAt: new Date() },
    ]);
    const ws = workspace.id;
    const byClick = await client.conversions.list.query({ workspaceId: ws, search: "EXT-777" });
    expect(byClick.items.map((c) => [c.tx, c.status, c.hit])).toEqual([
      [
        "TX-9",
        "approved",
        {
          funnelName: expect.any(String),
          pageName: "Demo offer A",
          trafficSourceName: expect.any(String),
          externalId: "EXT-777",
          country: "FR",
        },
      ],
    ]);
    expect((await client.conversions.list.query({ workspaceId: ws, search: "TX-9" })).items).toHaveLength(1);
    expect((await client.conversions.list.query({ workspaceId: ws, search: hitId })).items).toHaveLength(1);
    const withRejected = await client.conversions.list.query({
      workspaceId: ws,
      search: hitId,
      includeDeleted: true,
    });
    expect(withRejected.items.map((c) => c.tx).sort()).toEqual(["TX-10", "TX-9"]);
    // The date filter: the day before has only that day's sale.
    const dayBefore = await client.conversions.list.query({
      workspaceId: ws,
      from: new Date(D - 2 * DAY).toISOString(),
      to: new Date(D - DAY / 2).toISOString(),
    });
    expect(dayBefore.items.map((c) => Number(c.revenue))).toEqual([5]);
    // The same by the workspace's local dates.
    const localDay = await client.conversions.list.query({
      workspaceId: ws,
      fromDate: dayOf(D - DAY),
      toDate: dayOf(D - DAY),
    });
    expect(localDay.items.map((c) => Number(c.revenue))).toEqual([5]);
    const onD = await client.conversions.list.query({
      workspaceId: ws,
      fromDate: dayOf(D),
      toDate: dayOf(D),
    });
    expect(onD.items.map((c) => Number(c.revenue)).sort((a, b) => a - b)).toEqual([7, 10, 30]);
    // Another workspace's click ID finds nothing here.
    expect((await client.conversions.list.query({ workspaceId: ws, search: "nope" })).items).toEqual([]);
  });
});
