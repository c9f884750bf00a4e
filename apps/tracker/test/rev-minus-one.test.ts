import { newId } from "@hitrail/db";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";
import { conversionTables } from "./support/postback-db.ts";
import { clickThrough, postback, type Tenant } from "./support/postback-hits.ts";
import { tagPost } from "./support/tag-requests.ts";

// Seed: a rejected status sets "the revenue … to -1 and this will delete the existing conversion
// (if any), or create none". rev=-1 is that marker wherever a revenue is accepted, and says so in
// the answer; any other negative amount is a 400 naming the ways to reverse a conversion. One test
// per channel, on real PostgreSQL and Redis (funnel action triggers: action-triggers.test.ts).

let h: TrackerHarness;
beforeAll(async () => {
  h = await createTrackerHarness();
});
afterAll(async () => {
  await h?.close();
});

const DELETE_NOTE = "rev=-1: deletes the conversion, as a rejected status does";
const REVERSE =
  /^rev '-5' is negative; the only negative value accepted is -1, which deletes the conversion\. To reverse a conversion send status=rejected \(or reject, trash, cancelled\), rev=-1, or a word the offer source's status map maps to rejected \(a chargeback or refund code\)$/;

type Send = (t: Tenant, target: Record<string, string>, rev: string) => Promise<LightMyRequestResponse>;

const channels: Array<[string, Send]> = [
  ["GET /pb/", (t, target, rev) => postback(h, t.host, { ...target, rev })],
  [
    "POST /pb/ (form)",
    (t, target, rev) =>
      h.app.inject({
        method: "POST",
        url: "/pb/",
        headers: { host: t.host, "content-type": "application/x-www-form-urlencoded" },
        payload: new URLSearchParams({ ...target, rev }).toString(),
      }),
  ],
  [
    "POST /pb/ (JSON, rev as a number)",
    (t, target, rev) =>
      h.app.inject({
        method: "POST",
        url: "/pb/",
        headers: { host: t.host, "content-type": "application/json" },
        payload: JSON.stringify({ ...target, rev: Number(rev) }),
      }),
  ],
  [
    'tag flux.track("conversion", {rev})',
    (t, target, rev) => tagPost(h, t.host, "/js/track", { event: "conversion", ...target, rev }),
  ],
];

describe.each(channels)("rev=-1 through %s", (_channel, send) => {
  it("deletes the existing conversion like a rejected status, keeps the revision, and the answer says so", async () => {
    const t = await h.tenant();
    const db = conversionTables(h.t.db, t.workspaceId);
    const path = await clickThrough(h, t);
    expect((await send(t, { hit: path.offer, tx: "T" }, "40")).json()).toMatchObject({ outcome: "created" });

    const del = await send(t, { hit: path.offer, tx: "T" }, "-1");
    expect(del.statusCode, del.body).toBe(200);
    expect(del.json()).toMatchObject({
      outcome: "deleted",
      conversion: { revenue: "-1", status: "rejected", previousRevenue: "40" },
      notes: expect.arrayContaining([DELETE_NOTE]),
    });
    expect(await db.liveConversions()).toEqual([]);
    expect((await db.revisions()).map((r) => [r.action, r.revenue])).toEqual([
      ["created", "40.000000"],
      ["deleted", "-1.000000"],
    ]);

    // With nothing to delete it creates none.
    const none = await send(t, { hit: path.offer, tx: "never-sold" }, "-1");
    expect(none.statusCode).toBe(200);
    expect(none.json()).toMatchObject({ outcome: "ignored", notes: expect.arrayContaining([DELETE_NOTE]) });
    expect(await db.conversions()).toHaveLength(1);
  });

  it("by visitor and page too (vid + p): the visitor's hit on that page", async () => {
    const t = await h.tenant();
    const visitorId = newId();
    const path = await clickThrough(h, t, { visitorId });
    const target = { vid: visitorId, p: t.kit.offerIds[0] };
    expect((await send(t, target, "12")).json()).toMatchObject({ outcome: "created" });
    expect((await send(t, target, "-1")).json()).toMatchObject({ outcome: "deleted" });
    const [row] = await conversionTables(h.t.db, t.workspaceId).conversions();
    expect(row).toMatchObject({ hitId: path.offer, status: "rejected" });
    expect(row?.deletedAt).not.toBeNull();
  });

  it("any other negative amount is a 400 naming the ways to reverse a conversion; nothing is written", async () => {
    const t = await h.tenant();
    const db = conversionTables(h.t.db, t.workspaceId);
    const path = await clickThrough(h, t);
    await send(t, { hit: path.offer, tx: "T" }, "40");
    const res = await send(t, { hit: path.offer, tx: "T" }, "-5");
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(REVERSE);
    expect((await db.liveConversions()).map((c) => c.revenue)).toEqual(["40.000000"]);
    expect((await db.log()).map((l) => [l.outcome, l.httpStatus])).toEqual([
      ["created", 200],
      ["rejected", 400],
    ]);
  });

  it("never reaches another workspace's conversion", async () => {
    const a = await h.tenant();
    const b = await h.tenant();
    const path = await clickThrough(h, a);
    await send(a, { hit: path.offer, tx: "T" }, "40");
    const res = await send(b, { hit: path.offer, tx: "T" }, "-1");
    expect(res.json().outcome).not.toBe("deleted");
    expect((await conversionTables(h.t.db, a.workspaceId).liveConversions()).map((c) => c.revenue)).toEqual([
      "40.000000",
    ]);
  });
});
