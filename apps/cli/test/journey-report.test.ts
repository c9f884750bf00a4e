import { type AppRouter, startApi } from "@hitrail/api";
import { loadEnv } from "@hitrail/config";
import {
  type CampaignKit,
  campaignKitGraph,
  createApiKey,
  idTime,
  newIdAt,
  recomputeRollups,
  saveFunnelGraph,
} from "@hitrail/db";
import {
  createTestDatabase,
  factories,
  type TestDatabase,
  testRedisPrefix,
  testRedisUrl,
} from "@hitrail/db/testing";
import { schema } from "@hitrail/db/testing/sql";
import { createLogger } from "@hitrail/observability";
import { createRedis } from "@hitrail/queue";
import { type RunningTracker, startTracker } from "@hitrail/tracker";
import { createTRPCClient, httpLink } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The whole conversion path as users run it: clicks through the tracker, postbacks and action
// triggers, `hitrail rollups recompute`, then the report through the api's HTTP tRPC endpoint. The
// expected numbers are worked out by hand from the script below.

let t: TestDatabase;
let tracker: RunningTracker;
let api: Awaited<ReturnType<typeof startApi>>;
let prefix: string;

beforeAll(async () => {
  t = await createTestDatabase();
  prefix = testRedisPrefix("journey");
  const env = loadEnv({
    DATABASE_URL: t.appUrl,
    MAINTENANCE_DATABASE_URL: t.maintenanceUrl,
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: prefix,
    BASE_DOMAIN: "test.localhost",
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
  });
  const logger = createLogger({ name: "journey", level: "silent" });
  tracker = await startTracker(env, { logger, port: 0 });
  api = await startApi(env, { logger, port: 0 });
});

afterAll(async () => {
  await tracker?.close();
  await api?.close();
  const redis = createRedis(testRedisUrl());
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await t?.drop();
});

async function eventType(
  workspaceId: string,
  values: Partial<typeof schema.customEventTypes.$inferInsert> & { alias: string },
) {
  const [row] = await t.db
    .insert(schema.customEventTypes)
    .values({ workspaceId, name: values.alias, ...values })
    .returning();
  if (!row) throw new Error("no event type");
  return row;
}

function get(host: string, url: string, cookie?: string) {
  return tracker.app.inject({
    method: "GET",
    url,
    headers: {
      host,
      "user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
      ...(cookie ? { cookie: `hrvid=${cookie}` } : {}),
    },
  });
}

describe("a scripted journey, reported", () => {
  it("counts visits, conversions, updates, a rejection and each custom event type on every node of the path", async () => {
    const { workspace, host } = await factories.workspace(t.db);
    const kit: CampaignKit = await factories.campaign(t.db, workspace.id);
    const clickOut = await eventType(workspace.id, { alias: "click_out" });
    const lead = await eventType(workspace.id, { alias: "lead", hasRevenue: true, defaultRevenue: "1" });
    const signup = await eventType(workspace.id, { alias: "signup", countsAsConversion: true });
    // Action 1 (lander → offer A) fires the click_out event on the lander's hit.
    await saveFunnelGraph(
      t.db,
      campaignKitGraph({
        ...kit,
        workspaceId: workspace.id,
        funnelId: kit.funnelId,
        triggers: { action1: { events: [{ eventTypeId: clickOut.id }] } },
      }),
    );

    const visit = async (action: 1 | 2 | null, zone = "z1") => {
      const entry = await get(
        host,
        `/fts/${kit.funnelId}?ts=${kit.trafficSourceId}&cost=0.25&zone=${zone}&campaign=camp-${zone}`,
      );
      expect(entry.statusCode).toBe(302);
      const vid = /hrvid=([^;]+)/.exec(String(entry.headers["set-cookie"]))?.[1] as string;
      if (action === null) return { vid, offerHit: null };
      const next = await get(host, `/action/${action}`, vid);
      expect(next.statusCode).toBe(302);
      return { vid, offerHit: new URL(String(next.headers.location)).searchParams.get("clickid") as string };
    };
    const postback = async (query: Record<string, string>) => {
      const res = await get(host, `/pb/?${new URLSearchParams(query)}`);
      expect(res.statusCode, res.body).toBe(200);
      return res.json();
    };

    // V1: lander → offer A; a sale of 10 later raised to 15 (delayed revenue), and a lead.
    const v1 = await visit(1);
    expect(await postback({ hit: v1.offerHit as string, rev: "10" })).toMatchObject({ outcome: "created" });
    expect(await postback({ hit: v1.offerHit as string, e: "lead" })).toMatchObject({ outcome: "created" });
    expect(await postback({ hit: v1.offerHit as string, rev: "15" })).toMatchObject({ outcome: "updated" });
    // V2: lander → offer A; a sale of 5 that the network then rejects.
    const v2 = await visit(1);
    await postback({ hit: v2.offerHit as string, rev: "5", tx: "A" });
    expect(await postback({ hit: v2.offerHit as string, tx: "A", status: "rejected" })).toMatchObject({
      outcome: "deleted",
    });
    // V3: lander → offer B; a signup, a custom event that counts as a conversion (no revenue).
    const v3 = await visit(2, "z2");
    await postback({ hit: v3.offerHit as string, e: "signup" });
    // V4: leaves on the lander.
    await visit(null, "z2");
    // V1 comes back through the entrance link: a visit, but not a new visitor.
    const again = await get(host, `/fts/${kit.funnelId}?ts=${kit.trafficSourceId}&cost=0.25`, v1.vid);
    expect(again.statusCode).toBe(302);

    const now = Date.now();
    await recomputeRollups(t.db, {
      workspaceId: workspace.id,
      from: new Date(now - 2 * 3_600_000),
      to: new Date(now + 3_600_000),
    });

    const { key } = await createApiKey(t.db, { workspaceId: workspace.id, name: "report", role: "viewer" });
    const client = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${api.url}/trpc`, headers: { authorization: `Bearer ${key}` } })],
    });
    const today = new Date(now).toISOString().slice(0, 10);
    const report = await client.reports.run.query({
      workspaceId: workspace.id,
      from: today,
      to: today,
      groupBy: ["node"],
    });
    expect(report.eventTypes.map((e) => e.alias)).toEqual(["click_out", "lead", "signup"]);
    const none = { conversions: 0, revenue: "0" };
    const ev = (direct: [number, string], assisted: [number, string] = [0, "0"]) => ({
      direct: { conversions: direct[0], revenue: direct[1] },
      assisted: { conversions: assisted[0], revenue: assisted[1] },
    });
    const byNode = Object.fromEntries(report.rows.map((r) => [r.key.node, r.metrics]));
    expect(Object.keys(byNode).sort()).toEqual([kit.nodes.lander, kit.nodes.offerA, kit.nodes.offerB].sort());

    expect(byNode[kit.nodes.lander]).toMatchObject({
      visits: 5,
      uniqueVisitors: 4,
      cost: "1.25",
      direct: none,
      // V1's sale (15) and V3's signup passed through the lander; V2's rejected sale is gone.
      assisted: { conversions: 2, revenue: "15" },
      events: {
        [clickOut.id]: ev([2, "0"]),
        [lead.id]: ev([0, "0"], [1, "1"]),
        [signup.id]: ev([0, "0"], [1, "0"]),
      },
    });
    expect(byNode[kit.nodes.offerA]).toMatchObject({
      visits: 2,
      uniqueVisitors: 2,
      cost: "0",
      direct: { conversions: 1, revenue: "15" },
      assisted: none,
      events: { [lead.id]: ev([1, "1"]) },
      epv: "7.5",
    });
    expect(byNode[kit.nodes.offerA]?.events).not.toHaveProperty(clickOut.id);
    expect(byNode[kit.nodes.offerB]).toMatchObject({
      visits: 1,
      uniqueVisitors: 1,
      direct: { conversions: 1, revenue: "0" },
      events: { [signup.id]: ev([1, "0"]) },
    });

    expect(report.totals).toMatchObject({
      // Five journeys entered the funnel (V1 twice); they viewed eight pages.
      visits: 5,
      pageViews: 8,
      // Each visitor once in the funnel, however many pages and returns.
      uniqueVisitors: 4,
      cost: "1.25",
      direct: { conversions: 2, revenue: "15" },
      assisted: { conversions: 2, revenue: "15" },
      profit: "13.75",
      roi: 11,
      events: {
        [clickOut.id]: ev([2, "0"]),
        [lead.id]: ev([1, "1"], [1, "1"]),
        [signup.id]: ev([1, "0"], [1, "0"]),
      },
    });

    // Conversions split by the visit's device data like visits do (the script's browser: Chrome on Windows).
    const byOs = await client.reports.run.query({
      workspaceId: workspace.id,
      from: today,
      to: today,
      groupBy: ["os", "browser"],
    });
    expect(byOs.rows.map((r) => [r.key.os, r.key.browser, r.metrics.visits, r.metrics.direct])).toEqual([
      ["Windows", "Chrome", 5, { conversions: 2, revenue: "15" }],
    ]);

    // By a tracking field (read from the rollups by field): every hit of a click carries its entrance's fields.
    const byZone = await client.reports.run.query({
      workspaceId: workspace.id,
      from: today,
      to: today,
      groupBy: ["trackingField"],
      trackingField: "zone",
    });
    const zones = Object.fromEntries(
      byZone.rows.map((r) => [
        String(r.key.trackingField),
        [r.metrics.visits, r.metrics.direct, r.metrics.uniqueVisitors],
      ]),
    );
    expect(zones).toEqual({
      // V1 (lander, offer), V2 (lander, offer): two visits; V1's sale of 15 (V2's was rejected).
      z1: [2, { conversions: 1, revenue: "15" }, 2],
      // V3 (lander, offer B: the signup), V4 (lander).
      z2: [2, { conversions: 1, revenue: "0" }, 2],
      // V1's return without a zone.
      null: [1, { conversions: 0, revenue: "0" }, 0],
    });
    expect(byZone.notes[0]).toMatch(/rollups by field/);
    // The campaign arrives in the source's campaign parameter (not among its tracking fields) and is
    // still a field by name: the tracker keeps it on the hit, and the report reads it from there.
    const byCampaign = await client.reports.run.query({
      workspaceId: workspace.id,
      from: today,
      to: today,
      groupBy: ["field:campaign"],
    });
    expect(
      Object.fromEntries(byCampaign.rows.map((r) => [String(r.key["field:campaign"]), r.metrics.visits])),
    ).toEqual({ "camp-z1": 2, "camp-z2": 2, null: 1 });
    const fieldNames = await client.reports.trackingFields.query({ workspaceId: workspace.id });
    expect(fieldNames.map((f) => f.name)).toEqual(["campaign", "creative", "zone"]);

    // The same report as CSV: names and ids, every metric, a totals line.
    const csv = await client.reports.csv.query({
      workspaceId: workspace.id,
      from: today,
      to: today,
      groupBy: ["node"],
    });
    expect(csv.filename).toBe(`hitrail-report-${today}-${today}-by-node.csv`);
    const lines = csv.csv.trimEnd().split("\r\n");
    expect(lines[0]).toBe(
      "Node,Node id,Visits,Page views,Clicks,CTR,Unique visitors,Conversions,CR,Revenue,Cost,Profit,ROI,EPV,EPC,CPA,Assisted conversions,Assisted revenue,Bots,click_out,lead,signup",
    );
    // The lander's three clicks (to offer A twice, to offer B once) over its five views.
    expect(lines).toContain(`Lander,${kit.nodes.lander},5,5,3,0.6,4,0,0,0,1.25,-1.25,-1,0,0,,2,15,0,2,0,0`);
    expect(lines).toContain(`Offer A,${kit.nodes.offerA},2,2,0,0,2,1,0.5,15,0,15,,7.5,,0,0,0,0,0,1,0`);
    expect(lines.at(-1)).toBe("Total,,5,8,3,0.6,4,2,0.4,15,1.25,13.75,11,3,5,0.625,2,15,0,2,1,1");
    expect(byZone.totals.direct).toEqual(report.totals.direct);
  });

  it("a late postback with ts: credited on the visit's day by default, on the sale's day when asked", async () => {
    const { workspace, host } = await factories.workspace(t.db);
    const kit: CampaignKit = await factories.campaign(t.db, workspace.id);
    // The visit was two days ago (hits are written as the tracker writes them; the click path
    // cannot be asked to go back in time).
    const visitAt = Date.now() - 2 * 86_400_000;
    const visitorId = newIdAt(visitAt);
    const lander = newIdAt(visitAt);
    const offer = newIdAt(visitAt + 30_000);
    const hit = (id: string, node: "lander" | "offerA", prevHitId: string | null) => ({
      id,
      workspaceId: workspace.id,
      visitorId,
      funnelId: kit.funnelId,
      nodeId: kit.nodes[node],
      pageId: node === "lander" ? kit.landerId : kit.offerIds[0],
      pageKind: node === "lander" ? ("lander" as const) : ("offer" as const),
      trafficSourceId: kit.trafficSourceId,
      prevHitId,
      createdAt: new Date(idTime(id)),
    });
    await t.db.insert(schema.hits).values([hit(lander, "lander", null), hit(offer, "offerA", lander)]);

    // The network fires today, saying the sale happened an hour ago.
    const saleAt = Math.floor((Date.now() - 3_600_000) / 1000);
    const pb = await get(host, `/pb/?hit=${offer}&rev=20&ts=${saleAt}`);
    expect(pb.statusCode, pb.body).toBe(200);
    expect(pb.json()).toMatchObject({ outcome: "created", notes: [] });

    await recomputeRollups(t.db, {
      workspaceId: workspace.id,
      from: new Date(visitAt - 3_600_000),
      to: new Date(Date.now() + 3_600_000),
    });
    const { key } = await createApiKey(t.db, { workspaceId: workspace.id, name: "late", role: "viewer" });
    const client = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${api.url}/trpc`, headers: { authorization: `Bearer ${key}` } })],
    });
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const range = {
      workspaceId: workspace.id,
      from: day(visitAt),
      to: day(Date.now()),
      groupBy: ["day" as const],
    };
    const byDay = async (creditAt: "visit" | "conversion") =>
      Object.fromEntries(
        (await client.reports.run.query({ ...range, creditAt })).rows.map((r) => [
          r.key.day,
          [r.metrics.visits, r.metrics.direct?.conversions, r.metrics.direct?.revenue],
        ]),
      );
    expect(await byDay("visit")).toEqual({ [day(visitAt)]: [1, 1, "20"] });
    expect(await byDay("conversion")).toEqual({
      [day(visitAt)]: [1, 0, "0"],
      [day(saleAt * 1000)]: [0, 1, "20"],
    });
  });
});
