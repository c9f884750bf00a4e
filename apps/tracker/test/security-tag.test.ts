import { and, eq, schema } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";
import { act, enter } from "./support/clicks.ts";
import { conversionTables, setWorkspace } from "./support/postback-db.ts";
import { clickThrough, postback } from "./support/postback-hits.ts";
import { PAGE_ORIGIN, tagPost } from "./support/tag-requests.ts";

// Issue 18 through the tracker's HTTP routes, on real PostgreSQL and Redis:
//  1, 12: tag conversions follow the workspace's settings; CORS credentials only for its origins;
//  9: the postback secret never reaches the logs; 10: money bounds; 13: no host injection.

let h: TrackerHarness;
beforeAll(async () => {
  h = await createTrackerHarness({ captureLogs: true });
});
afterAll(async () => {
  await h?.close();
});

type Tenant = Awaited<ReturnType<TrackerHarness["tenant"]>>;

async function setTag(
  t: Tenant,
  set: Partial<
    Pick<
      typeof schema.workspaces.$inferInsert,
      "tagConversions" | "tagAllowedOrigins" | "tagRevenue" | "tagConversionsPerHit" | "postbackSecret"
    >
  >,
) {
  await h.t.db.update(schema.workspaces).set(set).where(eq(schema.workspaces.id, t.workspaceId));
}

const convert = (t: Tenant, hit: string, o: { origin?: string | null; rev?: string; tx?: string } = {}) =>
  tagPost(
    h,
    t.host,
    "/js/track",
    { event: "conversion", hit, ...(o.rev ? { rev: o.rev } : {}), ...(o.tx ? { tx: o.tx } : {}) },
    { origin: o.origin === undefined ? PAGE_ORIGIN : o.origin },
  );

const logged = (msg: string) => h.logs.filter((l) => l.msg === msg);

describe("tag conversions (points 1 and 12)", () => {
  it("refuses a conversion from a site that is none of the workspace's pages, with its reason, and records nothing", async () => {
    const t = await h.tenant();
    const path = await clickThrough(h, t);
    const res = await convert(t, path.offer, { origin: "https://attacker.example", rev: "99999" });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toMatch(/origin 'https:\/\/attacker\.example' may not send tag conversions/);
    expect(await conversionTables(h.t.db, t.workspaceId).conversions()).toEqual([]);
    expect(
      logged("tag event rejected").some((l) => l.status === 403 && l.origin === "https://attacker.example"),
    ).toBe(true);
    // The workspace's own pages still convert (the seed's flux.track).
    const ok = await convert(t, path.offer);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ outcome: "created", conversion: { revenue: "12.5" } });
  });

  it("a workspace with a postback secret refuses tag conversions without an allowed origin", async () => {
    const t = await h.tenant();
    await setTag(t, { postbackSecret: "s3cr3t-s3cr3t-s3cr3t" });
    const path = await clickThrough(h, t);
    const scripted = await convert(t, path.offer, { origin: null, rev: "99999" });
    expect(scripted.statusCode).toBe(403);
    expect(scripted.json().error).toMatch(
      /without an Origin header is refused: this workspace has a postback secret/,
    );
    expect(await conversionTables(h.t.db, t.workspaceId).conversions()).toEqual([]);
    const fromLander = await convert(t, path.offer);
    expect(fromLander.statusCode, fromLander.body).toBe(200);
  });

  it("the list of allowed origins adds hosts; turned off, no browser converts", async () => {
    const t = await h.tenant();
    const path = await clickThrough(h, t);
    expect((await convert(t, path.offer, { origin: "https://checkout.brand.example" })).statusCode).toBe(403);
    await setTag(t, { tagAllowedOrigins: ["*.brand.example"] });
    expect((await convert(t, path.offer, { origin: "https://checkout.brand.example" })).statusCode).toBe(200);
    await setTag(t, { tagConversions: false });
    const off = await convert(t, path.offer, { tx: "2" });
    expect(off.statusCode).toBe(403);
    expect(off.json().error).toMatch(/tag conversions are turned off in this workspace/);
  });

  it("without browser revenue, rev is ignored and the offer's default payout is used", async () => {
    const t = await h.tenant();
    await setTag(t, { tagRevenue: false });
    const path = await clickThrough(h, t);
    const res = await convert(t, path.offer, { rev: "99999" });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      conversion: { revenue: "12.5" },
      notes: expect.arrayContaining([expect.stringMatching(/rev from the browser is ignored/)]),
    });
  });

  it("a hit collects at most the per-hit limit of tag conversions; repeats of one tx still update", async () => {
    const t = await h.tenant();
    await setTag(t, { tagConversionsPerHit: 2 });
    const path = await clickThrough(h, t);
    expect((await convert(t, path.offer, { tx: "a", rev: "1" })).statusCode).toBe(200);
    expect((await convert(t, path.offer, { tx: "b", rev: "1" })).statusCode).toBe(200);
    const third = await convert(t, path.offer, { tx: "c", rev: "1" });
    expect(third.statusCode).toBe(409);
    expect(third.json().error).toMatch(/already has 2 conversions; the tag may add at most 2 per hit/);
    const again = await convert(t, path.offer, { tx: "a", rev: "3" });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ outcome: "updated", conversion: { revenue: "3" } });
    expect(await conversionTables(h.t.db, t.workspaceId).conversions()).toHaveLength(2);
  });

  it("CORS with credentials only for the workspace's origins: another site cannot read vid, hit and tokens", async () => {
    const t = await h.tenant();
    const body = {
      funnel: t.kit.funnelId,
      node: t.kit.nodes.lander,
      page: t.kit.landerId,
      url: `${PAGE_ORIGIN}/lander?ts=${t.kit.trafficSourceId}`,
    };
    const own = await tagPost(h, t.host, "/js/view", body);
    expect(own.headers["access-control-allow-origin"]).toBe(PAGE_ORIGIN);
    expect(own.headers["access-control-allow-credentials"]).toBe("true");

    const foreign = await tagPost(h, t.host, "/js/view", body, { origin: "https://attacker.example" });
    expect(foreign.headers["access-control-allow-origin"]).toBeUndefined();
    expect(foreign.headers["access-control-allow-credentials"]).toBeUndefined();
    const pre = await h.app.inject({
      method: "OPTIONS",
      url: "/js/view",
      headers: { host: t.host, origin: "https://attacker.example", "access-control-request-method": "POST" },
    });
    expect(pre.statusCode).toBe(403);
    expect(pre.headers["access-control-allow-origin"]).toBeUndefined();

    // Its own tracking domain is one of its origins too.
    const self = await tagPost(h, t.host, "/js/view", body, { origin: `https://${t.host}` });
    expect(self.headers["access-control-allow-origin"]).toBe(`https://${t.host}`);
  });
});

describe("secrets in logs (point 9)", () => {
  it("a rejected postback's key=SECRET never reaches a log line", async () => {
    const t = await h.tenant();
    const secret = "SECRETkey0123456789abcdef";
    await setWorkspace(h.t.db, t.workspaceId, { postbackSecret: secret });
    const path = await clickThrough(h, t);
    const unknownHit = await postback(h, t.host, {
      hit: "0190d6a4-7a3b-7c1e-9f00-00000000dead",
      key: secret,
    });
    expect(unknownHit.statusCode).toBe(404);
    const wrongKey = await postback(h, t.host, { hit: path.offer, key: `${secret}x` });
    expect(wrongKey.statusCode).toBe(403);
    const badRequest = await h.app.inject({
      method: "POST",
      url: `/pb/?key=${secret}`,
      headers: { host: t.host, "content-type": "application/json" },
      payload: "{not json",
    });
    expect(badRequest.statusCode).toBe(400);
    const out = JSON.stringify(h.logs);
    expect(out).not.toContain(secret);
    expect(logged("postback rejected").some((l) => String(l.url).includes("key=[redacted]"))).toBe(true);
  });
});

describe("money bounds (point 10)", () => {
  it("rev beyond the per-conversion maximum is a 400 naming it, on postbacks and tags", async () => {
    const t = await h.tenant();
    const path = await clickThrough(h, t);
    const pb = await postback(h, t.host, { hit: path.offer, rev: "999999999999" });
    expect(pb.statusCode).toBe(400);
    expect(pb.json().error).toMatch(/above the maximum of 1000000 per conversion/);
    const tag = await convert(t, path.offer, { rev: "999999999999" });
    expect(tag.statusCode).toBe(400);
    expect(tag.json().error).toMatch(/above the maximum of 1000000 per conversion/);
    const negative = await postback(h, t.host, { hit: path.offer, rev: "-999999999999" });
    expect(negative.statusCode).toBe(400);
    expect(negative.json().error).toMatch(/negative; the only negative value accepted is -1/);
    expect(await conversionTables(h.t.db, t.workspaceId).conversions()).toEqual([]);
    const max = await postback(h, t.host, { hit: path.offer, rev: "1000000" });
    expect(max.json()).toMatchObject({ outcome: "created", conversion: { revenue: "1000000" } });
  });

  it("rev=-1 keeps the seed's meaning: it deletes the conversion like a rejected status", async () => {
    const t = await h.tenant();
    const path = await clickThrough(h, t);
    expect((await postback(h, t.host, { hit: path.offer, rev: "40" })).statusCode).toBe(200);
    const del = await postback(h, t.host, { hit: path.offer, rev: "-1" });
    expect(del.statusCode).toBe(200);
    expect(del.json()).toMatchObject({
      outcome: "deleted",
      conversion: { revenue: "-1", status: "rejected" },
    });
    expect(await conversionTables(h.t.db, t.workspaceId).liveConversions()).toEqual([]);
  });
});

describe("URL templates (point 13)", () => {
  it("a stored offer URL with a token in the host answers a clear error instead of redirecting there", async () => {
    const t = await h.tenant();
    for (const offerId of t.kit.offerIds) {
      await h.t.db
        .update(schema.offers)
        .set({ url: "https://{external}/land?c={hit}" })
        .where(and(eq(schema.offers.workspaceId, t.workspaceId), eq(schema.offers.id, offerId)));
    }
    h.deps.workspaces.invalidate();
    const entry = await enter(h, t.host, t.kit.funnelId, {
      query: { ts: t.kit.trafficSourceId, external: "attacker.example" },
    });
    expect(entry.statusCode).toBe(302);
    const cookie = String(entry.headers["set-cookie"]).match(/hrvid=([^;]+)/)?.[1] ?? "";
    const res = await act(h, t.host, 1, { cookie });
    expect(res.statusCode).toBe(422);
    expect(res.headers.location).toBeUndefined();
    expect(res.json().error).toMatch(/cannot be used: a \{token\} may not be in the host/);
    expect(h.logs.some((l) => String(l.err ?? "").includes("may not be in the host"))).toBe(true);
  });
});
