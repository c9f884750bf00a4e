import {
  bumpFunnelsUsingPage,
  type CampaignKit,
  campaignKitGraph,
  type FunnelGraphInput,
  offerQueries,
  saveFunnelGraph,
  setFunnelArchived,
} from "@hitrail/db";
import { publishFunnelVersion } from "@hitrail/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";
import { act, enter, location, visitorCookieOf } from "./support/clicks.ts";
import { conversionTables } from "./support/postback-db.ts";

// A funnel saved in the dashboard routes the very next click. The api's save commits the graph
// (saveFunnelGraph, which bumps the version) and then records the version in Redis
// (publishFunnelVersion) before it answers; these tests do exactly those two steps and click at once,
// on a tracker whose cache already holds the old graph and whose version poll has not run.

let h: TrackerHarness;
beforeAll(async () => {
  h = await createTrackerHarness();
});
afterAll(async () => {
  await h?.close();
});

/** The api's save, as the tracker sees it: the commit, then the version in Redis. */
async function save(graph: FunnelGraphInput, opts: { publish?: boolean } = {}) {
  const saved = await saveFunnelGraph(h.t.db, graph);
  if (opts.publish !== false)
    await publishFunnelVersion(h.redis, h.deps.prefix, {
      workspaceId: graph.workspaceId,
      funnelId: saved.funnelId,
      version: saved.version,
    });
  return saved;
}

/** The kit's funnel with action 1 triggering a conversion. */
function changed(workspaceId: string, kit: CampaignKit): FunnelGraphInput {
  return campaignKitGraph({
    ...kit,
    workspaceId,
    funnelId: kit.funnelId,
    triggers: { action1: { conversion: { revenue: "3" } } },
  });
}

function entryTo(graph: FunnelGraphInput, nodeId: string): FunnelGraphInput {
  return {
    ...graph,
    nodes: graph.nodes.map((n) =>
      n.config.kind === "entry"
        ? { ...n, config: { kind: "entry", routes: [{ to: nodeId, weight: 1 }] } }
        : n,
    ),
  };
}

async function warm(host: string, kit: CampaignKit) {
  const res = await enter(h, host, kit.funnelId);
  expect(location(res).href).toContain("lander");
  return visitorCookieOf(res);
}

describe("a saved funnel routes the next click", () => {
  it("a new route: the entrance right after the save goes where the saved graph says", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    await warm(host, kit);
    const loadsBefore = h.app.funnelCache.stats.funnelLoads;

    // Still the lander: nothing saved yet.
    expect(location(await enter(h, host, kit.funnelId)).href).toContain("lander");

    await save(entryTo(changed(workspaceId, kit), kit.nodes.offerB));
    const next = location(await enter(h, host, kit.funnelId));
    expect(next.href).not.toContain("lander");
    expect(h.app.funnelCache.stats.funnelLoads).toBe(loadsBefore + 1);
    // Once reloaded, the hint costs no further load.
    location(await enter(h, host, kit.funnelId));
    expect(h.app.funnelCache.stats.funnelLoads).toBe(loadsBefore + 1);
  });

  it("a new action trigger: the action right after the save records its conversion", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    const vid = await warm(host, kit);
    // The action too is warm in the cache, without a trigger.
    location(await act(h, host, 2, { cookie: vid }));

    await save(changed(workspaceId, kit));
    const fresh = await enter(h, host, kit.funnelId);
    const landerHit = location(fresh).searchParams.get("hit");
    location(await act(h, host, 1, { cookie: visitorCookieOf(fresh) }));
    const conversions = await conversionTables(h.t.db, workspaceId).conversions();
    expect(conversions.map((c) => [c.hitId, c.tx])).toEqual([[landerHit, "action-1"]]);
  });

  it("an edited offer URL: the next click to it goes to the new URL", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    const vid = await warm(host, kit);
    const offerId = kit.offerIds[0];
    // The api's offer update: the row and the versions of the funnels using it, then the hints.
    await offerQueries.update(h.t.db, {
      workspaceId,
      id: offerId,
      values: { url: "https://offers.example/new-offer?c={hit}" },
    });
    for (const f of await bumpFunnelsUsingPage(h.t.db, { workspaceId, pageId: offerId }))
      await publishFunnelVersion(h.redis, h.deps.prefix, { workspaceId, funnelId: f.id, version: f.version });
    const res = await act(h, host, 1, { cookie: vid });
    expect(location(res).href).toMatch(/^https:\/\/offers\.example\/new-offer\?c=/);
  });

  it("without the version in Redis the old graph is still served (what the hint fixes)", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    await warm(host, kit);
    await save(entryTo(changed(workspaceId, kit), kit.nodes.offerB), { publish: false });
    // Within the version poll's interval the cached copy answers.
    expect(location(await enter(h, host, kit.funnelId)).href).toContain("lander");
  });

  it("an archived funnel stops routing at the next click, and routes again once restored", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    await warm(host, kit);
    const archived = await setFunnelArchived(h.t.db, { workspaceId, funnelId: kit.funnelId, archived: true });
    await publishFunnelVersion(h.redis, h.deps.prefix, {
      workspaceId,
      funnelId: kit.funnelId,
      version: archived?.version ?? 0,
    });
    expect((await enter(h, host, kit.funnelId)).statusCode).toBe(404);
    const loads = h.app.funnelCache.stats.funnelLoads;
    // A hint already acted on does not reload "no such funnel" on every click.
    expect((await enter(h, host, kit.funnelId)).statusCode).toBe(404);
    expect(h.app.funnelCache.stats.funnelLoads).toBe(loads);

    const restored = await setFunnelArchived(h.t.db, {
      workspaceId,
      funnelId: kit.funnelId,
      archived: false,
    });
    await publishFunnelVersion(h.redis, h.deps.prefix, {
      workspaceId,
      funnelId: kit.funnelId,
      version: restored?.version ?? 0,
    });
    expect(location(await enter(h, host, kit.funnelId)).href).toContain("lander");
  });
});
