import { createLander, createOffer, newId, saveFunnelGraph } from "@hitrail/db";
import { and, eq, schema } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";
import { act, enter, GB_IP, hitsOf, location, UA, visitorCookieOf } from "./support/clicks.ts";

let h: TrackerHarness;
beforeAll(async () => {
  h = await createTrackerHarness();
});
afterAll(async () => {
  await h?.close();
});

const DAYS4 = 4 * 24 * 60 * 60;

describe("entrance and action links", () => {
  it("entry → lander → action 1 → offer A: hits, their chain, the session and the Locations", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    const entryRes = await enter(h, host, kit.funnelId, {
      query: {
        ts: kit.trafficSourceId,
        external: "ext-123",
        campaign: "spring sale",
        cost: "0.05",
        zone: "z9",
        creative: "c&1",
      },
      ip: GB_IP,
      headers: {
        "user-agent": UA.iphone,
        "accept-language": "en-GB,en;q=0.8",
        referer: "https://news.example/article?id=1",
      },
    });
    const landerUrl = location(entryRes);
    const vid = visitorCookieOf(entryRes);
    expect(entryRes.headers["set-cookie"]).toBe(
      `hrvid=${vid}; Path=/; Max-Age=${DAYS4}; HttpOnly; SameSite=Lax`,
    );
    expect(entryRes.headers["cache-control"]).toBe("no-store");
    expect(landerUrl.origin + landerUrl.pathname).toBe("https://pages.example/lander");
    const hit1 = landerUrl.searchParams.get("hit");
    // The template passes vid itself, so it is not appended a second time.
    expect(landerUrl.searchParams.getAll("vid")).toEqual([vid]);

    const actionRes = await act(h, host, 1, { cookie: vid, headers: { "user-agent": UA.iphone } });
    const offerUrl = location(actionRes);
    expect(offerUrl.origin + offerUrl.pathname).toBe("https://pages.example/offer-a");
    const hit2 = offerUrl.searchParams.get("clickid");
    expect(offerUrl.searchParams.get("vid")).toBe(vid);
    expect(visitorCookieOf(actionRes)).toBe(vid);

    const rows = await hitsOf(h, workspaceId);
    expect(rows.map((r) => r.id)).toEqual([hit1, hit2]);
    const [lander, offer] = rows;
    expect(lander).toMatchObject({
      visitorId: vid,
      funnelId: kit.funnelId,
      nodeId: kit.nodes.lander,
      pageId: kit.landerId,
      pageKind: "lander",
      trafficSourceId: kit.trafficSourceId,
      externalId: "ext-123",
      campaign: "spring sale",
      cost: "0.050000",
      trackingFields: { zone: "z9", creative: "c&1" },
      prevHitId: null,
      ip: GB_IP,
      userAgent: UA.iphone,
      deviceType: "mobile",
      os: "iOS",
      browser: "Mobile Safari",
      country: "GB",
      language: "en",
      referrer: "https://news.example/article?id=1",
      isBot: false,
    });
    expect(lander?.createdAt.getTime()).toBe(h.clock.now);
    expect(offer).toMatchObject({
      visitorId: vid,
      funnelId: kit.funnelId,
      nodeId: kit.nodes.offerA,
      pageId: kit.offerIds[0],
      pageKind: "offer",
      trafficSourceId: kit.trafficSourceId,
      externalId: "ext-123",
      campaign: "spring sale",
      // Cost is the entrance's; repeating it on later hits would count it twice.
      cost: null,
      trackingFields: { zone: "z9", creative: "c&1" },
      prevHitId: hit1,
    });

    const session = await h.deps.sessions.get(workspaceId, vid, DAYS4);
    expect(session?.entry).toEqual({
      trafficSourceId: kit.trafficSourceId,
      externalId: "ext-123",
      campaign: "spring sale",
      cost: "0.05",
      fields: { zone: "z9", creative: "c&1" },
    });
    expect(session?.hits).toEqual([
      {
        hitId: hit1,
        nodeId: kit.nodes.lander,
        pageId: kit.landerId,
        pageKind: "lander",
        funnelId: kit.funnelId,
        at: h.clock.now,
      },
      {
        hitId: hit2,
        nodeId: kit.nodes.offerA,
        pageId: kit.offerIds[0],
        pageKind: "offer",
        funnelId: kit.funnelId,
        at: h.clock.now,
      },
    ]);
  });

  it("substitutes every token URL-encoded, keeps unknown ones, appends vid to landers and offers", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    const lander = await createLander(h.t.db, {
      workspaceId,
      name: "all tokens",
      url:
        "https://l.example/p?h={hit}&v2={VID}&e={external}&c={campaign}&k={cost}&f={funnel}&n={node}&p={page}" +
        "&t={trafficsource}&z={zone}&cr={creative}&geo={country}&d={device}&o={os}&b={browser}&x={unknown}#top",
    });
    const offer = await createOffer(h.t.db, {
      workspaceId,
      name: "plain",
      url: "https://o.example/?id={hit}",
    });
    const nodes = { entry: newId(), lander: newId(), offer: newId() };
    const { funnelId } = await saveFunnelGraph(h.t.db, {
      workspaceId,
      name: "tokens",
      entryNodeId: nodes.entry,
      nodes: [
        {
          id: nodes.entry,
          name: "entry",
          config: { kind: "entry", routes: [{ to: nodes.lander, weight: 1 }] },
        },
        {
          id: nodes.lander,
          name: "lander",
          config: { kind: "lander", pages: [{ pageId: lander.id, weight: 1 }] },
        },
        {
          id: nodes.offer,
          name: "offer",
          config: { kind: "offer", pages: [{ pageId: offer.id, weight: 1 }] },
        },
      ],
      actions: [{ from: nodes.lander, number: 1, to: nodes.offer }],
    });

    const res = await enter(h, host, funnelId, {
      query: {
        ts: kit.trafficSourceId,
        external: "a b/c",
        campaign: "ü",
        cost: "1,5",
        zone: "{zone}",
        creative: "x&y=z",
      },
      ip: GB_IP,
      headers: { "user-agent": UA.macFirefox },
    });
    const vid = visitorCookieOf(res);
    const [row] = await hitsOf(h, workspaceId);
    expect(res.headers.location).toBe(
      `https://l.example/p?h=${row?.id}&v2=${vid}&e=a%20b%2Fc&c=%C3%BC&k=1.5&f=${funnelId}&n=${nodes.lander}` +
        `&p=${lander.id}&t=${kit.trafficSourceId}&z=&cr=x%26y%3Dz&geo=GB&d=desktop&o=macOS&b=Firefox&x={unknown}` +
        `&vid=${vid}#top`,
    );
    // An unreplaced macro counts as nothing sent.
    expect(row?.trackingFields).toEqual({ creative: "x&y=z" });
    expect(row?.cost).toBe("1.500000");

    const offerRes = await act(h, host, 1, { cookie: vid });
    const [, offerRow] = await hitsOf(h, workspaceId);
    expect(offerRes.headers.location).toBe(`https://o.example/?id=${offerRow?.id}&vid=${vid}`);
  });

  it("the visitor ID goes under the workspace's parameter name; an offer that opted out gets none", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    await h.t.db
      .update(schema.workspaces)
      .set({ visitorIdParam: "fvid" })
      .where(eq(schema.workspaces.id, workspaceId));
    h.deps.workspaces.invalidate();
    const entry = await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId } });
    const vid = visitorCookieOf(entry);
    const lander = location(entry);
    expect(lander.searchParams.getAll("fvid")).toEqual([vid]);
    const offer = location(await act(h, host, 1, { cookie: vid }));
    expect(offer.searchParams.get("fvid")).toBe(vid);

    // A network that refuses unknown parameters: the offer opts out, {vid} in its URL still works.
    for (const offerId of kit.offerIds) {
      await h.t.db
        .update(schema.offers)
        .set({ passVisitorId: false })
        .where(and(eq(schema.offers.workspaceId, workspaceId), eq(schema.offers.id, offerId)));
    }
    h.app.funnelCache.clear();
    const other = await h.tenant();
    const entry2 = await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId } });
    const optedOut = location(await act(h, host, 1, { cookie: visitorCookieOf(entry2) }));
    expect(optedOut.searchParams.has("fvid")).toBe(false);
    expect(optedOut.searchParams.has("clickid")).toBe(true);
    // The other workspace keeps the default name and its offers their default.
    const otherEntry = await enter(h, other.host, other.kit.funnelId, {
      query: { ts: other.kit.trafficSourceId },
    });
    const otherOffer = location(await act(h, other.host, 1, { cookie: visitorCookieOf(otherEntry) }));
    expect(otherOffer.searchParams.getAll("vid")).toEqual([visitorCookieOf(otherEntry)]);
    expect(otherOffer.searchParams.has("fvid")).toBe(false);
  });

  it("a new entrance resumes the cookie's live visitor and refreshes the entry data", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    const first = await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId, external: "one" } });
    const vid = visitorCookieOf(first);
    const second = await enter(h, host, kit.funnelId, {
      query: { ts: kit.trafficSourceId, external: "two" },
      cookie: vid,
    });
    expect(visitorCookieOf(second)).toBe(vid);
    const third = await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId, vid } });
    expect(visitorCookieOf(third)).toBe(vid);
    const session = await h.deps.sessions.get(workspaceId, vid, DAYS4);
    expect(session?.hits).toHaveLength(3);
    expect(session?.entry.externalId).toBeNull();
    const rows = await hitsOf(h, workspaceId);
    expect(rows.map((r) => [r.visitorId, r.externalId, r.prevHitId])).toEqual([
      [vid, "one", null],
      [vid, "two", null],
      [vid, null, null],
    ]);
  });

  it("a repeat click from an earlier page starts from that page when the tag says so (n or hit)", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    const entry = await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId } });
    const vid = visitorCookieOf(entry);
    const landerHit = location(entry).searchParams.get("hit");
    location(await act(h, host, 1, { cookie: vid })); // now on offer A

    // Back on the lander, the visitor clicks action 2. Without the tag's hint the visitor's latest
    // page is offer A, which has no action 2.
    const lost = await act(h, host, 2, { cookie: vid });
    expect(lost.statusCode).toBe(404);
    expect(lost.json().error).toMatch(/has no action 2/);

    const byNode = location(await act(h, host, 2, { cookie: vid, query: { n: kit.nodes.lander } }));
    expect(byNode.pathname).toBe("/offer-b");
    const byHit = location(await act(h, host, 2, { query: { hit: String(landerHit) } }));
    expect(byHit.pathname).toBe("/offer-b");

    const rows = await hitsOf(h, workspaceId);
    expect(rows.slice(2).map((r) => [r.nodeId, r.prevHitId, r.visitorId])).toEqual([
      [kit.nodes.offerB, landerHit, vid],
      [kit.nodes.offerB, landerHit, vid],
    ]);
  });

  it("finds the page clicked on from the vid parameter, then the Referer", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    const entry = await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId } });
    const landerUrl = location(entry);
    const vid = visitorCookieOf(entry);
    const hit1 = landerUrl.searchParams.get("hit");

    expect(location(await act(h, host, 1, { query: { vid } })).pathname).toBe("/offer-a");
    const viaReferer = await act(h, host, 2, { headers: { referer: landerUrl.toString() } });
    expect(location(viaReferer).pathname).toBe("/offer-b");

    const rows = await hitsOf(h, workspaceId);
    expect(rows.map((r) => r.prevHitId)).toEqual([null, hit1, hit1]);
  });

  it("an action with the tag's hit works after the session expired, from the stored hit", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    const entry = await enter(h, host, kit.funnelId, {
      query: { ts: kit.trafficSourceId, external: "kept", zone: "z1" },
    });
    const vid = visitorCookieOf(entry);
    const hit1 = String(location(entry).searchParams.get("hit"));
    h.clock.advance((DAYS4 + 1) * 1000);

    const res = await act(h, host, 1, { query: { hit: hit1 }, cookie: vid });
    expect(location(res).pathname).toBe("/offer-a");
    const newVid = visitorCookieOf(res);
    expect(newVid).not.toBe(vid);
    const [, offer] = await hitsOf(h, workspaceId);
    expect(offer).toMatchObject({
      prevHitId: hit1,
      visitorId: newVid,
      externalId: "kept",
      trackingFields: { zone: "z1" },
    });
    const session = await h.deps.sessions.get(workspaceId, newVid, DAYS4, h.clock.now);
    expect(session?.entry.externalId).toBe("kept");
    expect(session?.hits.map((x) => x.hitId)).toEqual([offer?.id]);
  });

  it("never finds another workspace's hit or visitor", async () => {
    const a = await h.tenant();
    const b = await h.tenant();
    const entry = await enter(h, a.host, a.kit.funnelId, { query: { ts: a.kit.trafficSourceId } });
    const vid = visitorCookieOf(entry);
    const hit1 = String(location(entry).searchParams.get("hit"));

    const byHit = await act(h, b.host, 1, { query: { hit: hit1 } });
    expect(byHit.statusCode).toBe(404);
    expect(byHit.json()).toEqual({ error: `hit ${hit1} does not exist in this workspace` });
    const byVid = await act(h, b.host, 1, { cookie: vid });
    expect(byVid.statusCode).toBe(404);
    const funnel = await enter(h, b.host, a.kit.funnelId);
    expect(funnel.statusCode).toBe(404);
    const ts = await enter(h, b.host, b.kit.funnelId, { query: { ts: a.kit.trafficSourceId } });
    expect(ts.statusCode).toBe(404);
    expect(await hitsOf(h, b.workspaceId)).toHaveLength(0);
  });

  it("records bots (flagged) and visits without a traffic source", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    location(await enter(h, host, kit.funnelId, { headers: { "user-agent": UA.googlebot } }));
    const [row] = await hitsOf(h, workspaceId);
    expect(row).toMatchObject({ isBot: true, trafficSourceId: null, externalId: null, trackingFields: {} });
  });

  it("serves warm funnels and traffic sources from memory", async () => {
    const { host, kit } = await h.tenant();
    const before = { ...h.app.funnelCache.stats };
    for (let i = 0; i < 20; i++)
      location(await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId } }));
    expect(h.app.funnelCache.stats.funnelLoads - before.funnelLoads).toBe(1);
    expect(h.app.funnelCache.stats.trafficSourceLoads - before.trafficSourceLoads).toBe(1);
  });
});
