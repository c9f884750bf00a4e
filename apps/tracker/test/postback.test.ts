import { conversionRollupDrift, listConversionRollups, newId, sweepConversionRollups } from "@hitrail/db";
import { schema, sql } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";
import { conversionTables, setTrafficSource } from "./support/postback-db.ts";
import { clickThrough, postback, type Tenant, visit } from "./support/postback-hits.ts";

const DAY = 86_400_000;

let h: TrackerHarness;
beforeAll(async () => {
  h = await createTrackerHarness();
});
afterAll(async () => {
  await h?.close();
});

async function tenant(postbackUrl?: string): Promise<Tenant & { db: ReturnType<typeof conversionTables> }> {
  const t = await h.tenant(postbackUrl ? { postbackUrl } : {});
  return { ...t, db: conversionTables(h.t.db, t.workspaceId) };
}

describe("by hit ID: revenue", () => {
  it("no rev: the offer's default payout (12.50), recorded on that hit", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const res = await postback(h, t.host, { hit: path.offer, tx: "T1" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      outcome: "created",
      conversion: { hit: path.offer, tx: "T1", revenue: "12.5", status: "approved", revision: 1 },
      notes: [],
    });
    const [conversion] = await t.db.conversions();
    expect(conversion).toMatchObject({
      hitId: path.offer,
      tx: "T1",
      revenue: "12.500000",
      status: "approved",
      pageKind: "offer",
      pageId: t.kit.offerIds[0],
      visitorId: path.visitorId,
      trafficSourceId: t.kit.trafficSourceId,
      deletedAt: null,
    });
    expect(conversion?.hitAt.getTime()).toBe(h.clock.now - 1_000);
  });

  it("no rev on a lander hit: 0 (landers pay nothing unless set)", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const res = await postback(h, t.host, { hit: path.lander });
    expect(res.json()).toMatchObject({
      outcome: "created",
      conversion: { revenue: "0", status: "approved" },
    });
  });

  it("a lander with a payout set converts with it", async () => {
    const t = await tenant();
    await h.t.db.update(schema.landers).set({ defaultPayout: "1.75" }).where(sql`id = ${t.kit.landerId}`);
    const path = await clickThrough(h, t);
    const res = await postback(h, t.host, { hit: path.lander });
    expect(res.json()).toMatchObject({ conversion: { revenue: "1.75" } });
  });

  it.each([
    ["12.5", "12.5"],
    ["12.50", "12.5"],
    ["12,50", "12.5"],
    [" 7 ", "7"],
    ["0", "0"],
  ])("rev=%j → %s", async (rev, revenue) => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const res = await postback(h, t.host, { hit: path.offer, rev });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ outcome: "created", conversion: { revenue } });
  });

  it.each(["{payout}", "[payout]", "%payout%", "#payout#", "$payout", "{{payout}}", "", "REPLACE"])(
    "rev=%j is an unreplaced macro or empty: the default payout",
    async (rev) => {
      const t = await tenant();
      const path = await clickThrough(h, t);
      const res = await postback(h, t.host, { hit: path.offer, rev });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ outcome: "created", conversion: { revenue: "12.5" } });
    },
  );

  it.each([
    ["abc", "rev 'abc' is not a number"],
    ["1e3", "rev '1e3' is not a number (exponents are not accepted)"],
    ["NaN", "rev 'NaN' is not a number"],
    ["Infinity", "rev 'Infinity' is not a number"],
    ["1,234.50", "rev '1,234.50' is not a number (thousands separators are not accepted)"],
    ["$12", "rev '$12' is not a number"],
  ])("rev=%j is a 400 that writes nothing but the log", async (rev, error) => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const res = await postback(h, t.host, { hit: path.offer, rev });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ outcome: "rejected", error });
    expect(await t.db.conversions()).toEqual([]);
    expect(await t.db.outbox()).toEqual([]);
    expect(await t.db.log()).toMatchObject([{ outcome: "rejected", reason: error, httpStatus: 400 }]);
  });
});

describe("by hit ID: statuses", () => {
  it.each(["pending", "hold", "preapproved", "PENDING", "Hold", "PreApproved"])(
    "status=%s: a conversion with revenue 0.01",
    async (status) => {
      const t = await tenant();
      const path = await clickThrough(h, t);
      const res = await postback(h, t.host, { hit: path.offer, tx: "T1", rev: "40", status });
      expect(res.json()).toMatchObject({
        outcome: "created",
        conversion: { revenue: "0.01", status: "pending" },
      });
      expect(await t.db.revisions()).toMatchObject([
        { statusWord: status.toLowerCase(), revenue: "0.010000" },
      ]);
    },
  );

  it.each(["rejected", "reject", "trash", "cancelled", "REJECTED", "Trash"])(
    "status=%s deletes the existing conversion, kept in the audit trail",
    async (status) => {
      const t = await tenant("https://ts.example/pb?cid={external}&payout={payout}&status={status}");
      await setTrafficSource(h.t.db, t.workspaceId, t.kit.trafficSourceId, { postbackOnReject: true });
      const path = await clickThrough(h, t);
      await postback(h, t.host, { hit: path.offer, tx: "T1", rev: "40" });
      const res = await postback(h, t.host, { hit: path.offer, tx: "T1", status });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        outcome: "deleted",
        conversion: { revenue: "-1", status: "rejected", revision: 2, previousRevenue: "40" },
      });
      const [conversion] = await t.db.conversions();
      expect(conversion?.deletedAt).not.toBeNull();
      expect(await t.db.liveConversions()).toEqual([]);
      expect(await t.db.revisions(conversion?.id)).toMatchObject([
        { revision: 1, action: "created", previousRevenue: null, revenue: "40.000000", status: "approved" },
        {
          revision: 2,
          action: "deleted",
          previousRevenue: "40.000000",
          revenue: "-1.000000",
          status: "rejected",
        },
      ]);
      // The traffic source asked to hear about rejections.
      expect((await t.db.deliveries()).map((d) => d.url)).toEqual([
        "https://ts.example/pb?cid=ext-1&payout=40&status=approved",
        "https://ts.example/pb?cid=ext-1&payout=-1&status=rejected",
      ]);
    },
  );

  it("status=rejected before any conversion creates none", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const res = await postback(h, t.host, { hit: path.offer, tx: "T1", rev: "40", status: "rejected" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      outcome: "ignored",
      reason: "rejected: no conversion to delete",
      conversion: null,
    });
    expect(await t.db.conversions()).toEqual([]);
    expect(await t.db.outbox()).toEqual([]);
    expect(await t.db.log()).toMatchObject([
      { outcome: "ignored", reason: "rejected: no conversion to delete" },
    ]);
  });

  it("rejected, then approved again: the conversion is restored", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    await postback(h, t.host, { hit: path.offer, tx: "T1", rev: "40" });
    await postback(h, t.host, { hit: path.offer, tx: "T1", status: "cancelled" });
    const again = await postback(h, t.host, { hit: path.offer, tx: "T1", status: "cancelled" });
    expect(again.json()).toMatchObject({
      outcome: "ignored",
      reason: "rejected: conversion already deleted",
    });
    const res = await postback(h, t.host, { hit: path.offer, tx: "T1", rev: "35", status: "approved" });
    expect(res.json()).toMatchObject({ outcome: "restored", conversion: { revenue: "35", revision: 3 } });
    expect(await t.db.liveConversions()).toMatchObject([
      { revenue: "35.000000", revision: 3, deletedAt: null },
    ]);
    expect((await t.db.revisions()).map((r) => [r.action, r.previousRevenue, r.revenue])).toEqual([
      ["created", null, "40.000000"],
      ["deleted", "40.000000", "-1.000000"],
      ["restored", "-1.000000", "35.000000"],
    ]);
    expect((await t.db.log()).map((l) => l.outcome)).toEqual(["created", "deleted", "ignored", "restored"]);
  });

  it("pending, then approved without rev: the default payout replaces 0.01", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    await postback(h, t.host, { hit: path.offer, tx: "T1", status: "hold" });
    const res = await postback(h, t.host, { hit: path.offer, tx: "T1", status: "approved" });
    expect(res.json()).toMatchObject({
      outcome: "updated",
      conversion: { revenue: "12.5", status: "approved", previousRevenue: "0.01" },
    });
  });

  it.each(["sale", "approved", "lead", "{status}", ""])("status=%j: a normal conversion", async (status) => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const res = await postback(h, t.host, { hit: path.offer, rev: "9", status });
    expect(res.json()).toMatchObject({
      outcome: "created",
      conversion: { revenue: "9", status: "approved" },
    });
  });

  it("an offer source's status map speaks first (words the seed does not know)", async () => {
    const t = await tenant();
    await h.t.db
      .update(schema.offerSources)
      .set({ statusMap: { declined: "rejected", "2": "pending" } })
      .where(sql`id = ${t.kit.offerSourceId}`);
    const path = await clickThrough(h, t);
    expect((await postback(h, t.host, { hit: path.offer, tx: "A", status: "2" })).json()).toMatchObject({
      conversion: { revenue: "0.01", status: "pending" },
    });
    expect(
      (await postback(h, t.host, { hit: path.offer, tx: "A", status: "DECLINED" })).json(),
    ).toMatchObject({
      outcome: "deleted",
    });
  });

  it("an offer source may send its status in a parameter of its own", async () => {
    const t = await tenant();
    await h.t.db
      .update(schema.offerSources)
      .set({ statusParam: "goal_status", statusMap: { "1": "approved", "2": "pending", "3": "rejected" } })
      .where(sql`id = ${t.kit.offerSourceId}`);
    const path = await clickThrough(h, t);
    expect((await postback(h, t.host, { hit: path.offer, tx: "G", goal_status: "2" })).json()).toMatchObject({
      conversion: { revenue: "0.01", status: "pending" },
    });
    expect((await postback(h, t.host, { hit: path.offer, tx: "G", goal_status: "3" })).json()).toMatchObject({
      outcome: "deleted",
    });
    // `status` itself, when sent, still speaks first.
    expect(
      (await postback(h, t.host, { hit: path.offer, tx: "H", status: "1", goal_status: "3" })).json(),
    ).toMatchObject({
      outcome: "created",
      conversion: { status: "approved" },
    });
  });

  it("an offer source that names its words refuses an unknown one (400, the known list, logged, nothing changed)", async () => {
    const t = await tenant();
    // Affise: 1 approved, 2 pending, 3 declined, 5 hold.
    await h.t.db
      .update(schema.offerSources)
      .set({ statusMap: { "1": "approved", "2": "pending", "3": "rejected", "5": "pending" } })
      .where(sql`id = ${t.kit.offerSourceId}`);
    const path = await clickThrough(h, t);
    expect((await postback(h, t.host, { hit: path.offer, tx: "S", status: "1" })).json()).toMatchObject({
      outcome: "created",
      conversion: { status: "approved" },
    });
    const unknown = await postback(h, t.host, { hit: path.offer, tx: "S", status: "9" });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error).toMatch(/^unknown status word '9'; this offer source knows: 1, 2, 3, 5, /);
    // The seed's words keep working, and chargebacks after approval delete with the revision kept.
    expect((await postback(h, t.host, { hit: path.offer, tx: "S", status: "3" })).json()).toMatchObject({
      outcome: "deleted",
    });
    expect((await t.db.revisions()).map((r) => r.action)).toEqual(["created", "deleted"]);
    expect((await t.db.log()).map((l) => l.outcome)).toEqual(["created", "rejected", "deleted"]);
  });
});

describe("by hit ID: identity (workspace, hit, tx)", () => {
  it("the same tx again updates: the latest revenue wins (delayed revenue)", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    await postback(h, t.host, { hit: path.offer, tx: "T1", rev: "5" });
    const res = await postback(h, t.host, { hit: path.offer, tx: "T1", rev: "7.25" });
    expect(res.json()).toMatchObject({
      outcome: "updated",
      conversion: { revenue: "7.25", revision: 2, previousRevenue: "5" },
    });
    expect(await t.db.conversions()).toMatchObject([{ revenue: "7.250000", revision: 2 }]);
    const revisions = await t.db.revisions();
    expect(revisions).toMatchObject([
      { revision: 1, action: "created", previousRevenue: null, revenue: "5.000000", source: "postback" },
      {
        revision: 2,
        action: "updated",
        previousRevenue: "5.000000",
        revenue: "7.250000",
        source: "postback",
      },
    ]);
    expect(revisions[1]?.raw).toMatchObject({
      method: "GET",
      ip: "203.0.113.10",
      params: { hit: path.offer, tx: "T1", rev: "7.25" },
    });
  });

  it("a different tx on the same hit is another conversion (upsells)", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const a = await postback(h, t.host, { hit: path.offer, tx: "T1", rev: "5" });
    const b = await postback(h, t.host, { hit: path.offer, tx: "T2", rev: "20" });
    expect([a.json().outcome, b.json().outcome]).toEqual(["created", "created"]);
    expect((await t.db.conversions()).map((c) => [c.tx, c.revenue])).toEqual([
      ["T1", "5.000000"],
      ["T2", "20.000000"],
    ]);
  });

  it("a repeat without tx updates, never doubles", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const outcomes = [];
    for (const rev of ["5", "5", "5.00", "6"]) {
      outcomes.push((await postback(h, t.host, { hit: path.offer, rev })).json().outcome);
    }
    expect(outcomes).toEqual(["created", "ignored", "ignored", "updated"]);
    expect(await t.db.conversions()).toMatchObject([{ tx: "", revenue: "6.000000", revision: 2 }]);
    expect(await t.db.revisions()).toHaveLength(2);
  });

  it("tx and no tx on one hit are two identities", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    await postback(h, t.host, { hit: path.offer });
    await postback(h, t.host, { hit: path.offer, tx: "T1" });
    expect(await t.db.conversions()).toHaveLength(2);
  });

  it("a hit ID in upper case or without dashes is the same hit", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    await postback(h, t.host, { hit: path.offer.toUpperCase(), rev: "1" });
    const res = await postback(h, t.host, { hit: path.offer.replace(/-/g, ""), rev: "2" });
    expect(res.json()).toMatchObject({ outcome: "updated", conversion: { hit: path.offer } });
  });
});

describe("which hit converts", () => {
  it("a six-month-old hit still converts (hits are stored forever), credited to its visit's time", async () => {
    const t = await tenant();
    const at = new Date(h.clock.now - 182 * DAY);
    const path = await clickThrough(h, t, { at });
    const [stored] = await h.t.db.execute<{ part: string }>(
      sql`select tableoid::regclass::text as part from hits where id = ${path.offer}`,
    );
    expect(stored?.part).toBe("hits_default");
    const res = await postback(h, t.host, { hit: path.offer, tx: "late", rev: "3" });
    expect(res.json()).toMatchObject({ outcome: "created", conversion: { revenue: "3" } });
    const [conversion] = await t.db.conversions();
    expect(conversion?.hitAt.getTime()).toBe(at.getTime() - 1_000);
    expect(conversion?.convertedAt.getTime()).toBe(h.clock.now);
    // The session is long gone; the path still comes from the hits themselves.
    expect((await t.db.touches(conversion?.id ?? "")).map((x) => [x.hitId, x.kind])).toEqual([
      [path.offer, "direct"],
      [path.lander, "assisted"],
    ]);
  });

  it("touches credit the lander for the offer's conversion; the traffic entry is no page", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const res = await postback(h, t.host, { hit: path.offer });
    const id = res.json().conversion.id as string;
    const touches = await t.db.touches(id);
    expect(touches).toMatchObject([
      {
        hitId: path.offer,
        kind: "direct",
        position: 0,
        pageId: t.kit.offerIds[0],
        nodeId: t.kit.nodes.offerA,
      },
      {
        hitId: path.lander,
        kind: "assisted",
        position: 1,
        pageId: t.kit.landerId,
        nodeId: t.kit.nodes.lander,
      },
    ]);
    expect(touches[1]?.hitAt.getTime()).toBe(h.clock.now - 2_000);
  });

  it("an upsell path credits the earlier offer and the lander", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const upsell = await visit(h, t, { visitorId: path.visitorId, kind: "offerB", prevHitId: path.offer });
    const res = await postback(h, t.host, { hit: upsell });
    const touches = await t.db.touches(res.json().conversion.id);
    expect(touches.map((x) => [x.hitId, x.kind, x.position])).toEqual([
      [upsell, "direct", 0],
      [path.offer, "assisted", 1],
      [path.lander, "assisted", 2],
    ]);
  });

  it("only lander and offer hits convert: a traffic-entry hit is a 422", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const res = await postback(h, t.host, { hit: path.entry });
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toMatch(/only lander and offer hits convert/);
    expect(await t.db.conversions()).toEqual([]);
  });

  it("an unknown hit is a 404, logged in plain words", async () => {
    const t = await tenant();
    const missing = newId();
    const res = await postback(h, t.host, { hit: missing, tx: "x" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({
      outcome: "rejected",
      error: `hit not found: ${missing} is not a hit of this workspace`,
    });
    expect(await t.db.log()).toMatchObject([
      {
        outcome: "rejected",
        hitId: missing,
        tx: "x",
        httpStatus: 404,
        reason: expect.stringMatching(/^hit not found/),
      },
    ]);
  });

  it("a hit of workspace A posted to B's domain is not found, and A is untouched", async () => {
    const a = await tenant();
    const b = await tenant();
    const path = await clickThrough(h, a);
    const res = await postback(h, b.host, { hit: path.offer });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatch(/^hit not found/);
    expect(await a.db.conversions()).toEqual([]);
    expect(await b.db.conversions()).toEqual([]);
    expect(await a.db.log()).toEqual([]);
    expect(await b.db.log()).toHaveLength(1);
  });

  it("an unreplaced macro in hit is a 400 that says so", async () => {
    const t = await tenant();
    const res = await postback(h, t.host, { hit: "{clickid}", tx: "{transaction}", rev: "{payout}" });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe("hit or vid is required (hit was the unreplaced macro '{clickid}')");
    expect(await t.db.log()).toMatchObject([
      { outcome: "rejected", reason: expect.stringContaining("unreplaced macro") },
    ]);
  });

  it("hit and vid both given: the hit wins, and the answer says so", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const other = await clickThrough(h, t, { offer: "offerB" });
    const res = await postback(h, t.host, { hit: path.lander, vid: other.visitorId, p: t.kit.offerIds[1] });
    expect(res.json()).toMatchObject({
      outcome: "created",
      conversion: { hit: path.lander },
      notes: ["hit and vid both given: hit wins"],
    });
  });
});

describe("by visitor ID (session)", () => {
  it("vid + p: the most recent hit of that page in the session", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const b = await visit(h, t, { visitorId: path.visitorId, kind: "offerB", prevHitId: path.offer });
    const a2 = await visit(h, t, { visitorId: path.visitorId, kind: "offerA", prevHitId: b });
    const res = await postback(h, t.host, { vid: path.visitorId, p: t.kit.offerIds[0], tx: "T1", rev: "8" });
    expect(res.json()).toMatchObject({ outcome: "created", conversion: { hit: a2, revenue: "8" } });
    const pb = await postback(h, t.host, { vid: path.visitorId, p: t.kit.offerIds[1] });
    expect(pb.json()).toMatchObject({ outcome: "created", conversion: { hit: b, revenue: "30" } });
    const lander = await postback(h, t.host, { vid: path.visitorId, p: t.kit.landerId });
    expect(lander.json()).toMatchObject({ conversion: { hit: path.lander, revenue: "0" } });
    expect(await t.db.log()).toMatchObject([{ visitorId: path.visitorId, hitId: a2 }, {}, {}]);
  });

  it("vid without p: the most recently visited offer", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const b = await visit(h, t, { visitorId: path.visitorId, kind: "offerB", prevHitId: path.offer });
    await visit(h, t, { visitorId: path.visitorId, kind: "lander", prevHitId: b });
    const res = await postback(h, t.host, { vid: path.visitorId });
    expect(res.json()).toMatchObject({
      outcome: "created",
      conversion: { hit: b, revenue: "30" },
      notes: [expect.stringContaining("last visited offer")],
    });
  });

  it("vid whose page the visitor never saw: a clear 404", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const res = await postback(h, t.host, { vid: path.visitorId, p: newId() });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatch(/^no hit to convert: visitor .* has no hit on page/);
  });

  it("an unknown visitor is a 404, never a guess", async () => {
    const t = await tenant();
    const vid = newId();
    const res = await postback(h, t.host, { vid, tx: "T9" });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatch(/^visitor not found/);
    expect(await t.db.log()).toMatchObject([
      { outcome: "rejected", visitorId: vid, tx: "T9", httpStatus: 404 },
    ]);
    expect(await t.db.conversions()).toEqual([]);
  });

  it("an expired session (4 days after the last visit) is a 404, though its hit converts by hit ID", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const before = h.clock.now;
    h.clock.advance(4 * DAY + 1);
    try {
      const res = await postback(h, t.host, { vid: path.visitorId });
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toMatch(
        /^visitor not found: .* no live session \(sessions end 4 days after the last visit\)/,
      );
      expect((await postback(h, t.host, { hit: path.offer })).json().outcome).toBe("created");
    } finally {
      h.clock.now = before;
    }
  });

  it("a session Redis has already forgotten is a 404", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    await h.redis.del(`${h.deps.prefix}:v:${t.workspaceId}:${path.visitorId}`);
    expect((await postback(h, t.host, { vid: path.visitorId })).statusCode).toBe(404);
  });

  it("a visitor of workspace A is unknown on B's domain", async () => {
    const a = await tenant();
    const b = await tenant();
    const path = await clickThrough(h, a);
    expect((await postback(h, b.host, { vid: path.visitorId })).statusCode).toBe(404);
  });
});

describe("telling the traffic source (outbox contract)", () => {
  const TEMPLATE =
    "https://ts.example/cb?cid={external}&payout={payout}&rev={revenue}&tx={tx}&hit={hit}&vid={vid}" +
    "&ev={event}&st={status}&f={funnel}&cost={cost}&cur={currency}&zone={zone}&cr={creative}&x={unknown}";

  it("a new conversion: one delivery rendered with every macro, its own outbox entry, and no outbox row", async () => {
    const t = await tenant(TEMPLATE);
    await setTrafficSource(h.t.db, t.workspaceId, t.kit.trafficSourceId, { postbackDelaySeconds: 30 });
    const path = await clickThrough(h, t, { externalId: "abc 1&2" });
    const res = await postback(h, t.host, { hit: path.offer, tx: "T 1", rev: "12,50" });
    const conversionId = res.json().conversion.id as string;
    const [delivery, ...more] = await t.db.deliveries();
    expect(more).toEqual([]);
    expect(delivery).toMatchObject({
      conversionId,
      revision: 1,
      trafficSourceId: t.kit.trafficSourceId,
      event: "conversion",
      status: "pending",
      unknownMacros: ["unknown"],
      url:
        `https://ts.example/cb?cid=abc%201%262&payout=12.5&rev=12.5&tx=T%201&hit=${path.offer}&vid=${path.visitorId}` +
        `&ev=conversion&st=approved&f=${t.kit.funnelId}&cost=0.050000&cur=USD&zone=z-42&cr=c-7&x={unknown}`,
    });
    // Due in 30 s; not relayed yet, so the worker's relay enqueues `deliver-<id>` for then.
    expect(delivery?.notBefore?.getTime()).toBe(h.clock.now + 30_000);
    expect(delivery?.relayedAt).toBeNull();
    expect(await t.db.outbox()).toEqual([]);
    // The rollups hear of it through the worker's sweep, which reads the revision.
    expect((await t.db.revisions(conversionId)).map((r) => r.revision)).toEqual([1]);
  });

  it("updates notify only when the source asks for them; every change reaches the rollups", async () => {
    const t = await tenant("https://ts.example/cb?p={payout}");
    const path = await clickThrough(h, t);
    await postback(h, t.host, { hit: path.offer, tx: "T1", rev: "1" });
    await postback(h, t.host, { hit: path.offer, tx: "T1", rev: "2" });
    await setTrafficSource(h.t.db, t.workspaceId, t.kit.trafficSourceId, { postbackOnUpdate: true });
    await postback(h, t.host, { hit: path.offer, tx: "T1", rev: "3" });
    await postback(h, t.host, { hit: path.offer, tx: "T1", status: "trash" }); // postbackOnReject is off
    expect((await t.db.deliveries()).map((d) => [d.revision, d.url])).toEqual([
      [1, "https://ts.example/cb?p=1"],
      [3, "https://ts.example/cb?p=3"],
    ]);
    expect((await t.db.outbox()).filter((o) => o.topic === "rollup.conversion")).toEqual([]);
    expect((await t.db.revisions()).map((r) => r.revision)).toEqual([1, 2, 3, 4]);
  });

  it("new, updated, repeated and rejected postbacks reach the rollups exactly once through the sweep", async () => {
    const t = await tenant();
    const a = await clickThrough(h, t);
    const b = await clickThrough(h, t);
    const range = {
      workspaceId: t.workspaceId,
      from: new Date(h.clock.now - DAY),
      to: new Date(h.clock.now + DAY),
    };
    const totals = async () => {
      expect(await sweepConversionRollups(h.t.db, { wait: true })).toMatchObject({ status: "swept" });
      expect(await conversionRollupDrift(h.t.db, range)).toEqual([]);
      const rows = await listConversionRollups(h.t.db, range);
      const direct = rows.filter((r) => r.touchKind === "direct");
      return [
        direct.reduce((n, r) => n + r.conversions, 0),
        direct.reduce((n, r) => n + Number(r.revenue), 0),
      ];
    };
    await postback(h, t.host, { hit: a.offer, tx: "A", rev: "10" });
    await postback(h, t.host, { hit: b.offer, tx: "B", rev: "5" });
    expect(await totals()).toEqual([2, 15]);
    await postback(h, t.host, { hit: a.offer, tx: "A", rev: "12" }); // late revenue
    await postback(h, t.host, { hit: a.offer, tx: "A", rev: "12" }); // the same postback again
    expect(await totals()).toEqual([2, 17]);
    await postback(h, t.host, { hit: b.offer, tx: "B", status: "rejected" });
    expect(await totals()).toEqual([1, 12]);
    await postback(h, t.host, { hit: a.offer, tx: "A", rev: "-1" });
    expect(await totals()).toEqual([0, 0]);
  });

  it("disable_postbacks=true records the conversion but fires nothing to the traffic source", async () => {
    const t = await tenant(TEMPLATE);
    const path = await clickThrough(h, t);
    const res = await postback(h, t.host, { hit: path.offer, rev: "4", disable_postbacks: "true" });
    expect(res.json()).toMatchObject({ outcome: "created", conversion: { revenue: "4" } });
    expect(await t.db.deliveries()).toEqual([]);
    expect(await t.db.outbox()).toEqual([]);
  });

  it("a traffic source without a postback URL gets no delivery", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    await postback(h, t.host, { hit: path.offer });
    expect(await t.db.deliveries()).toEqual([]);
    expect(await t.db.outbox()).toEqual([]);
  });
});

describe("request forms", () => {
  it("/pb without the slash, and POST with a form body", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const get = await h.app.inject({
      method: "GET",
      url: `/pb?hit=${path.offer}&tx=a`,
      headers: { host: t.host },
    });
    expect(get.json().outcome).toBe("created");
    const form = await h.app.inject({
      method: "POST",
      url: "/pb/",
      headers: { host: t.host, "content-type": "application/x-www-form-urlencoded" },
      payload: `hit=${path.offer}&tx=b&rev=12%2C50`,
    });
    expect(form.json()).toMatchObject({ outcome: "created", conversion: { tx: "b", revenue: "12.5" } });
  });

  it("POST with a JSON body (numbers welcome)", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const res = await h.app.inject({
      method: "POST",
      url: "/pb/",
      headers: { host: t.host, "content-type": "application/json" },
      payload: JSON.stringify({ hit: path.offer, tx: 17, rev: 3.5, status: "PENDING" }),
    });
    expect(res.json()).toMatchObject({ outcome: "created", conversion: { tx: "17", status: "pending" } });
    expect(await t.db.log()).toMatchObject([
      { method: "POST", params: { hit: path.offer, tx: "17", rev: "3.5" } },
    ]);
  });

  it("a JSON body that does not parse is a logged 400", async () => {
    const t = await tenant();
    const res = await h.app.inject({
      method: "POST",
      url: "/pb/",
      headers: { host: t.host, "content-type": "application/json" },
      payload: "{nope",
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ outcome: "rejected", error: "the JSON body could not be parsed" });
    expect(await t.db.log()).toMatchObject([{ outcome: "rejected", httpStatus: 400 }]);
  });

  it("parameters holding NUL or a lone surrogate are stored, made storable", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const res = await h.app.inject({
      method: "POST",
      url: `/pb/?x=a%00b`,
      headers: { host: t.host, "content-type": "application/json" },
      // JSON.stringify escapes both, so the body itself is plain ASCII.
      payload: JSON.stringify({ hit: path.offer, "sub\u0000": "\ud800z", tx: "T" }),
    });
    expect(res.json()).toMatchObject({ outcome: "created" });
    const [entry] = await t.db.log();
    expect(entry?.params).toMatchObject({ x: "a\uFFFDb", "sub\uFFFD": "\uFFFDz" });
  });

  it("HEAD never records a conversion", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const res = await h.app.inject({
      method: "HEAD",
      url: `/pb/?hit=${path.offer}`,
      headers: { host: t.host },
    });
    expect(res.statusCode).toBe(404);
    expect(await t.db.conversions()).toEqual([]);
  });

  it("a custom event by postback (e=alias): its own identity beside the conversion, its default revenue, its postback", async () => {
    const t = await tenant("https://ts.example/pb?ev={event}&p={payout}");
    const [lead] = await h.t.db
      .insert(schema.customEventTypes)
      .values({
        workspaceId: t.workspaceId,
        name: "Lead",
        alias: "lead",
        hasRevenue: true,
        defaultRevenue: "2.5",
        firesPostback: true,
      })
      .returning();
    const path = await clickThrough(h, t);

    const leadRes = await postback(h, t.host, { hit: path.offer, e: "lead" });
    expect(leadRes.statusCode).toBe(200);
    expect(leadRes.json()).toMatchObject({
      outcome: "created",
      conversion: { hit: path.offer, revenue: "2.5" },
    });
    // The sale on the same hit is another identity; e=conversion is the conversion itself.
    const sale = await postback(h, t.host, { hit: path.offer, e: "conversion", rev: "40" });
    expect(sale.json()).toMatchObject({ outcome: "created", conversion: { revenue: "40" } });
    // A repeat of the lead updates it (the type's policy is the seed's default), never doubles it.
    const again = await postback(h, t.host, { hit: path.offer, e: "lead", rev: "3" });
    expect(again.json()).toMatchObject({ outcome: "updated", conversion: { revenue: "3", revision: 2 } });

    const rows = await t.db.conversions();
    expect(rows.map((r) => [r.eventKey === "" ? "conversion" : r.eventTypeId, r.revenue])).toEqual([
      [lead?.id, "3.000000"],
      ["conversion", "40.000000"],
    ]);
    const urls = (await t.db.deliveries()).map((d) => d.url).sort();
    expect(urls).toEqual(["https://ts.example/pb?ev=conversion&p=40", "https://ts.example/pb?ev=lead&p=2.5"]);
    // Updates are told to the traffic source only when it asks for them (postbackOnUpdate is off).
  });

  it("ts says when the conversion happened: kept when plausible, corrected (with a note) when not", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const [hitRow] = await h.t.db
      .select({ at: schema.hits.createdAt })
      .from(schema.hits)
      .where(sql`id = ${path.offer}`);
    const hitAt = hitRow?.at.getTime() ?? 0;
    // A network firing late says when the sale happened (the visit was 1 s before "now").
    h.clock.advance(3 * 3_600_000);
    const late = hitAt + 60_000;
    const res = await postback(h, t.host, { hit: path.offer, tx: "L", ts: String(late / 1000) });
    expect(res.json()).toMatchObject({ outcome: "created", notes: [] });
    // Seconds in the future: the receive time, said in the notes.
    const future = await postback(h, t.host, {
      hit: path.offer,
      tx: "F",
      ts: new Date(h.clock.now + 3_600_000).toISOString(),
    });
    expect(future.json().notes[0]).toMatch(/is in the future: the time it was received is used/);
    // Before its visit: the visit's time.
    const early = await postback(h, t.host, {
      hit: path.offer,
      tx: "E",
      ts: String(Math.floor((hitAt - 86_400_000) / 1000)),
    });
    expect(early.json().notes[0]).toMatch(/is before its visit: the visit's time is used/);
    // An update keeps the time the conversion first happened.
    await postback(h, t.host, {
      hit: path.offer,
      tx: "L",
      rev: "30",
      ts: String(Math.floor(h.clock.now / 1000)),
    });
    const bad = await postback(h, t.host, { hit: path.offer, tx: "B", ts: "soon" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/^ts 'soon' is not unix seconds/);

    const byTx = Object.fromEntries((await t.db.conversions()).map((c) => [c.tx, c.convertedAt.getTime()]));
    expect(byTx).toEqual({ L: late, F: h.clock.now, E: Math.floor(hitAt) });
  });

  it("an offer source may name its own conversion-time parameter (ts still wins)", async () => {
    const t = await tenant();
    await h.t.db
      .update(schema.offerSources)
      .set({ conversionTimeParam: "sale_time" })
      .where(sql`id = ${t.kit.offerSourceId}`);
    const path = await clickThrough(h, t);
    h.clock.advance(3_600_000);
    const at = h.clock.now - 1_800_000;
    await postback(h, t.host, { hit: path.offer, tx: "N", sale_time: new Date(at).toISOString() });
    const bad = await postback(h, t.host, { hit: path.offer, tx: "X", sale_time: "noonish" });
    expect(bad.json().notes).toEqual([
      "sale_time: 'noonish' is not unix seconds or an ISO-8601 time; the time it was received is used",
    ]);
    const byTx = Object.fromEntries((await t.db.conversions()).map((c) => [c.tx, c.convertedAt.getTime()]));
    expect(byTx).toEqual({ N: at, X: h.clock.now });
  });

  it("an unknown custom event alias is a 400 naming it, logged, and writes nothing", async () => {
    const t = await tenant();
    const path = await clickThrough(h, t);
    const res = await postback(h, t.host, { hit: path.offer, e: "signup" });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe("e=signup: no custom event type has this alias in this workspace");
    expect(await t.db.conversions()).toEqual([]);
    expect((await t.db.log()).map((l) => [l.outcome, l.reason])).toEqual([
      ["rejected", "e=signup: no custom event type has this alias in this workspace"],
    ]);
  });

  it("a custom event type without revenue counts the event and records 0 whatever rev says", async () => {
    const t = await tenant();
    await h.t.db
      .insert(schema.customEventTypes)
      .values({ workspaceId: t.workspaceId, name: "Click", alias: "cta" });
    const path = await clickThrough(h, t);
    const res = await postback(h, t.host, { hit: path.offer, e: "cta", rev: "5" });
    expect(res.json()).toMatchObject({
      outcome: "created",
      conversion: { revenue: "0" },
      notes: ["event 'cta' carries no revenue: 5 not recorded"],
    });
  });
});
