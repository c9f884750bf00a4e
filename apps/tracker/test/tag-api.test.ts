import { newId } from "@hitrail/db";
import { eq, schema } from "@hitrail/db/testing/sql";
import { buildTag, tagFor } from "@hitrail/tag";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";
import { act, enter, hitsOf, location, visitorCookieOf } from "./support/clicks.ts";
import { conversionTables } from "./support/postback-db.ts";
import { PAGE_ORIGIN, tagPost, trackEvent, view } from "./support/tag-requests.ts";

let h: TrackerHarness;
beforeAll(async () => {
  h = await createTrackerHarness();
});
afterAll(async () => {
  await h?.close();
});

type Tenant = Awaited<ReturnType<TrackerHarness["tenant"]>>;

/** A lander view arriving straight from an ad (no redirect through us). */
function directLanderView(t: Tenant, extra: Record<string, string> = {}) {
  return view(h, t.host, {
    funnel: t.kit.funnelId,
    node: t.kit.nodes.lander,
    page: t.kit.landerId,
    url: `${PAGE_ORIGIN}/lander?ts=${t.kit.trafficSourceId}&external=ext-9&campaign=c1&cost=0.20&zone=z1`,
    referrer: "https://ads.example/feed",
    ...extra,
  });
}

/** entry → lander → action 1 → offer A through the redirects; the ids the pages would carry. */
async function redirectJourney(t: Tenant) {
  const entry = await enter(h, t.host, t.kit.funnelId, { query: { ts: t.kit.trafficSourceId } });
  const landerUrl = location(entry);
  const vid = visitorCookieOf(entry);
  const landerHit = landerUrl.searchParams.get("hit") ?? "";
  const action = await act(h, t.host, 1, { cookie: vid });
  const offerHit = location(action).searchParams.get("clickid") ?? "";
  return { vid, landerHit, offerHit };
}

describe("GET /tag.js", () => {
  it("serves the built tag with its ETag, and 304 when the browser has it", async () => {
    const { host } = await h.tenant();
    const tag = tagFor(await buildTag(), "vid");
    const res = await h.app.inject({ method: "GET", url: "/tag.js", headers: { host } });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/javascript; charset=utf-8");
    expect(res.headers["cache-control"]).toBe("public, max-age=300, stale-while-revalidate=86400");
    expect(res.headers.etag).toBe(tag.etag);
    expect(res.body).toBe(tag.code);

    const again = await h.app.inject({
      method: "GET",
      url: "/tag.js",
      headers: { host, "if-none-match": tag.etag },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe("");
    expect(again.headers.etag).toBe(tag.etag);

    const stale = await h.app.inject({
      method: "GET",
      url: "/tag.js",
      headers: { host, "if-none-match": '"old"' },
    });
    expect(stale.statusCode).toBe(200);
  });

  it("is served with the workspace's visitor-ID parameter, under its own ETag", async () => {
    const t = await h.tenant();
    await h.t.db
      .update(schema.workspaces)
      .set({ visitorIdParam: "fvid" })
      .where(eq(schema.workspaces.id, t.workspaceId));
    h.deps.workspaces.invalidate();
    const res = await h.app.inject({ method: "GET", url: "/tag.js", headers: { host: t.host } });
    const plain = await h.app.inject({
      method: "GET",
      url: "/tag.js",
      headers: { host: (await h.tenant()).host },
    });
    expect(res.body).toBe(tagFor(await buildTag(), "fvid").code);
    expect(res.body).toContain('"fvid"');
    expect(res.headers.etag).not.toBe(plain.headers.etag);
    expect(plain.body).not.toContain("fvid");
  });

  it("is not served on a host that is no tracking domain", async () => {
    const res = await h.app.inject({ method: "GET", url: "/tag.js", headers: { host: "nobody.example" } });
    expect(res.statusCode).toBe(404);
  });
});

describe("POST /js/view", () => {
  it("a direct view starts a session and records the hit as an entrance would", async () => {
    const t = await h.tenant();
    const res = await directLanderView(t);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    const vid = visitorCookieOf(res);
    expect(body).toMatchObject({
      vid,
      funnel: t.kit.funnelId,
      node: t.kit.nodes.lander,
      page: t.kit.landerId,
      tokens: {
        vid,
        hit: body.hit,
        external: "ext-9",
        campaign: "c1",
        cost: "0.2",
        trafficsource: t.kit.trafficSourceId,
        zone: "z1",
        creative: "",
        browser: "Chrome",
        os: "Windows",
        device: "desktop",
      },
    });
    expect(res.headers["set-cookie"]).toMatch(
      /^hrvid=[0-9a-f-]{36}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/,
    );
    const rows = await hitsOf(h, t.workspaceId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: body.hit,
      visitorId: vid,
      funnelId: t.kit.funnelId,
      nodeId: t.kit.nodes.lander,
      pageId: t.kit.landerId,
      pageKind: "lander",
      trafficSourceId: t.kit.trafficSourceId,
      externalId: "ext-9",
      campaign: "c1",
      trackingFields: { zone: "z1" },
      prevHitId: null,
      referrer: "https://ads.example/feed",
    });
    expect(Number(rows[0]?.cost)).toBe(0.2);
    const session = await h.deps.sessions.get(t.workspaceId, vid, 3600);
    expect(session?.hits.map((x) => x.hitId)).toEqual([body.hit]);
    expect(session?.entry).toMatchObject({ externalId: "ext-9", trafficSourceId: t.kit.trafficSourceId });
  });

  it("the redirect's hit is answered, not recorded twice; a later view joins the same visitor", async () => {
    const t = await h.tenant();
    const j = await redirectJourney(t);
    const res = await view(h, t.host, {
      funnel: t.kit.funnelId,
      node: t.kit.nodes.offerA,
      page: t.kit.offerIds[0],
      vid: j.vid,
      hit: j.offerHit,
      url: `${PAGE_ORIGIN}/offer-a?clickid=${j.offerHit}&vid=${j.vid}`,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ vid: j.vid, hit: j.offerHit });
    expect(await hitsOf(h, t.workspaceId)).toHaveLength(2);

    // The visitor reloads the lander without the parameters: the cookie names them, a new hit links
    // back to the offer (the latest hit, same funnel), and costs nothing again.
    const again = await view(
      h,
      t.host,
      {
        funnel: t.kit.funnelId,
        node: t.kit.nodes.lander,
        page: t.kit.landerId,
        url: `${PAGE_ORIGIN}/lander`,
      },
      { cookie: j.vid },
    );
    expect(again.statusCode, again.body).toBe(200);
    const hit = again.json().hit as string;
    expect(again.json().vid).toBe(j.vid);
    const rows = await hitsOf(h, t.workspaceId);
    expect(rows).toHaveLength(3);
    expect(rows.find((r) => r.id === hit)).toMatchObject({
      visitorId: j.vid,
      prevHitId: j.offerHit,
      pageKind: "lander",
      cost: null,
      trafficSourceId: t.kit.trafficSourceId,
    });
  });

  it("an offer URL carrying the hit under its own name (clickid) is recognised without the tag's hit", async () => {
    const t = await h.tenant();
    const j = await redirectJourney(t);
    const res = await view(h, t.host, {
      funnel: t.kit.funnelId,
      node: t.kit.nodes.offerA,
      page: t.kit.offerIds[0],
      vid: j.vid,
      url: `${PAGE_ORIGIN}/offer-a?clickid=${j.offerHit}&vid=${j.vid}`,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ vid: j.vid, hit: j.offerHit });
    expect(await hitsOf(h, t.workspaceId)).toHaveLength(2);
  });

  it("a page whose tag sends no vid is joined by the workspace's parameter in its URL", async () => {
    const t = await h.tenant();
    await h.t.db
      .update(schema.workspaces)
      .set({ visitorIdParam: "fvid" })
      .where(eq(schema.workspaces.id, t.workspaceId));
    h.deps.workspaces.invalidate();
    const j = await redirectJourney(t);
    const res = await view(h, t.host, {
      funnel: t.kit.funnelId,
      node: t.kit.nodes.offerA,
      page: t.kit.offerIds[0],
      url: `${PAGE_ORIGIN}/offer-a?clickid=${j.offerHit}&fvid=${j.vid}`,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ vid: j.vid, hit: j.offerHit });
    expect(await hitsOf(h, t.workspaceId)).toHaveLength(2);
    // Under any other name the URL's ID is not the visitor's: another visitor, another hit.
    const other = await view(h, t.host, {
      funnel: t.kit.funnelId,
      node: t.kit.nodes.offerA,
      page: t.kit.offerIds[0],
      url: `${PAGE_ORIGIN}/offer-a?ref=${j.vid}`,
    });
    expect(other.json().vid).not.toBe(j.vid);
  });

  it("a hit of another node is not the page's hit: the view is recorded", async () => {
    const t = await h.tenant();
    const j = await redirectJourney(t);
    const res = await view(h, t.host, {
      funnel: t.kit.funnelId,
      node: t.kit.nodes.offerB,
      page: t.kit.offerIds[1],
      vid: j.vid,
      hit: j.landerHit,
      url: `${PAGE_ORIGIN}/offer-b`,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().hit).not.toBe(j.landerHit);
    expect(await hitsOf(h, t.workspaceId)).toHaveLength(3);
  });

  it("bad input: clear 4xx JSON", async () => {
    const t = await h.tenant();
    const base = {
      funnel: t.kit.funnelId,
      node: t.kit.nodes.lander,
      page: t.kit.landerId,
      url: `${PAGE_ORIGIN}/lander`,
    };
    const badJson = await tagPost(h, t.host, "/js/view", null, { raw: "{nope" });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json()).toEqual({ error: "the body is not valid JSON" });

    const badId = await view(h, t.host, { ...base, funnel: "abc" });
    expect(badId.statusCode).toBe(400);
    expect(badId.json().error).toMatch(/funnel 'abc' is not a valid/);

    const missing = await tagPost(h, t.host, "/js/view", { node: base.node, url: base.url });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error).toMatch(/funnel/);

    const unknownFunnel = await view(h, t.host, { ...base, funnel: newId() });
    expect(unknownFunnel.statusCode).toBe(404);
    const unknownNode = await view(h, t.host, { ...base, node: newId() });
    expect(unknownNode.statusCode).toBe(404);
    const wrongPage = await view(h, t.host, { ...base, page: t.kit.offerIds[0] });
    expect(wrongPage.statusCode).toBe(404);
    const notAPage = await view(h, t.host, { ...base, node: t.kit.nodes.entry });
    expect(notAPage.statusCode).toBe(422);
    expect(notAPage.json().error).toMatch(/entry node/);
    expect(await hitsOf(h, t.workspaceId)).toHaveLength(0);
  });
});

describe("CORS", () => {
  it("echoes the page's origin with credentials, never *, on answers, errors and preflights", async () => {
    const t = await h.tenant();
    const ok = await directLanderView(t);
    const bad = await tagPost(h, t.host, "/js/track", null, { raw: "not json" });
    const pre = await h.app.inject({
      method: "OPTIONS",
      url: "/js/track",
      headers: {
        host: t.host,
        origin: PAGE_ORIGIN,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect(bad.statusCode).toBe(400);
    expect(pre.statusCode).toBe(204);
    for (const res of [ok, bad, pre]) {
      expect(res.headers["access-control-allow-origin"]).toBe(PAGE_ORIGIN);
      expect(res.headers["access-control-allow-credentials"]).toBe("true");
      expect(String(res.headers.vary)).toMatch(/Origin/);
    }
    expect(pre.headers["access-control-allow-methods"]).toBe("POST");
    expect(pre.headers["access-control-allow-headers"]).toBe("content-type");
    expect(pre.headers["access-control-max-age"]).toBe("600");

    const noOrigin = await tagPost(h, t.host, "/js/view", null, { raw: "{}", origin: null });
    expect(noOrigin.headers["access-control-allow-origin"]).toBeUndefined();
    // Issue 18: another site's page gets no CORS headers, so it cannot read a visitor's vid and hit.
    const other = await tagPost(h, t.host, "/js/view", {}, { origin: "https://other.example" });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
    expect(other.headers["access-control-allow-credentials"]).toBeUndefined();
  });
});

describe("POST /js/track", () => {
  it('"conversion" without p, vid or hit converts the latest offer view at its default payout', async () => {
    const t = await h.tenant();
    const db = conversionTables(h.t.db, t.workspaceId);
    const j = await redirectJourney(t);
    const res = await trackEvent(h, t.host, "conversion", {}, { vid: j.vid, hit: j.offerHit });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      outcome: "created",
      conversion: { hit: j.offerHit, revenue: "12.5", status: "approved" },
    });
    const [conversion] = await db.conversions();
    expect(conversion).toMatchObject({
      hitId: j.offerHit,
      revenue: "12.500000",
      pageKind: "offer",
      visitorId: j.vid,
      eventKey: "",
    });
    const log = await db.log();
    expect(log.at(-1)).toMatchObject({ channel: "tag" });
  });

  it("p forces the page: the lander hit converts at the lander's default (0); rev and tx as postbacks", async () => {
    const t = await h.tenant();
    const db = conversionTables(h.t.db, t.workspaceId);
    const j = await redirectJourney(t);
    const res = await trackEvent(h, t.host, "conversion", { p: t.kit.landerId }, { vid: j.vid });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().conversion).toMatchObject({ hit: j.landerHit, revenue: "0" });

    const withRev = await trackEvent(
      h,
      t.host,
      "conversion",
      { hit: j.offerHit, rev: "3.25", tx: "T-9" },
      {},
    );
    expect(withRev.statusCode, withRev.body).toBe(200);
    expect(withRev.json().conversion).toMatchObject({ hit: j.offerHit, revenue: "3.25", tx: "T-9" });

    const rows = await db.conversions();
    expect(rows.map((c) => [c.hitId, c.revenue])).toEqual([
      [j.landerHit, "0.000000"],
      [j.offerHit, "3.250000"],
    ]);
  });

  it("the cookie stands in for the page's visitor; vid and hit together are refused", async () => {
    const t = await h.tenant();
    const j = await redirectJourney(t);
    const byCookie = await trackEvent(h, t.host, "conversion", {}, {}, { cookie: j.vid });
    expect(byCookie.statusCode, byCookie.body).toBe(200);
    expect(byCookie.json().conversion.hit).toBe(j.offerHit);

    const both = await trackEvent(h, t.host, "conversion", { vid: j.vid, hit: j.offerHit }, {});
    expect(both.statusCode).toBe(400);
    expect(both.json()).toMatchObject({ outcome: "rejected", error: "pass vid or hit, not both" });

    const nobody = await trackEvent(h, t.host, "conversion", {}, {});
    expect(nobody.statusCode).toBe(400);
    expect(nobody.json().error).toMatch(/no visitor/);

    const badRev = await trackEvent(h, t.host, "conversion", { rev: "lots" }, { vid: j.vid });
    expect(badRev.statusCode).toBe(400);
  });

  it("a custom event alias is recorded on the hit with the event type's id as its key", async () => {
    const t = await h.tenant();
    const db = conversionTables(h.t.db, t.workspaceId);
    const [type] = await h.t.db
      .insert(schema.customEventTypes)
      .values({ workspaceId: t.workspaceId, name: "Lead", alias: "lead", defaultRevenue: "1.5" })
      .returning();
    const j = await redirectJourney(t);
    const res = await trackEvent(h, t.host, "lead", {}, { vid: j.vid });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ outcome: "created", conversion: { hit: j.offerHit } });
    const [conversion] = await db.conversions();
    expect(conversion).toMatchObject({ hitId: j.offerHit, eventKey: type?.id, eventTypeId: type?.id });

    const unknown = await trackEvent(h, t.host, "signup", {}, { vid: j.vid });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ outcome: "rejected", error: "unknown event 'signup'" });
    expect(await db.conversions()).toHaveLength(1);
  });
});

describe("POST /js/view on an offer whose URL carries no {hit}", () => {
  it("joins the redirect's moments-old hit instead of counting the visit twice; later it is a new visit", async () => {
    const t = await h.tenant();
    const { vid, offerHit } = await redirectJourney(t);
    const before = (await hitsOf(h, t.workspaceId)).length;
    const offerView = () =>
      view(h, t.host, {
        funnel: t.kit.funnelId,
        node: t.kit.nodes.offerA,
        page: t.kit.offerIds[0],
        vid,
        url: "https://offers.example/a?aff=42",
      });

    h.clock.advance(4_000);
    const res = await offerView();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ vid, hit: offerHit });
    expect((await hitsOf(h, t.workspaceId)).length).toBe(before);

    // Half a minute on, the same page is a new visit of it.
    h.clock.advance(31_000);
    const later = await offerView();
    expect(later.json().hit).not.toBe(offerHit);
    expect((await hitsOf(h, t.workspaceId)).length).toBe(before + 1);
  });
});
