import type { ActionTriggers } from "@hitrail/core";
import { type CampaignKit, campaignKitGraph, saveFunnelGraph } from "@hitrail/db";
import { schema } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";
import { act, enter, location, visitorCookieOf } from "./support/clicks.ts";
import { conversionTables } from "./support/postback-db.ts";

let h: TrackerHarness;
beforeAll(async () => {
  h = await createTrackerHarness();
});
afterAll(async () => {
  await h?.close();
});

/** The kit's funnel again, with triggers on the lander's actions 1 and 2. */
async function setTriggers(
  workspaceId: string,
  kit: CampaignKit,
  one: ActionTriggers,
  two: ActionTriggers = {},
) {
  await saveFunnelGraph(
    h.t.db,
    campaignKitGraph({
      ...kit,
      workspaceId,
      funnelId: kit.funnelId,
      triggers: { action1: one, action2: two },
    }),
  );
}

async function eventType(
  workspaceId: string,
  alias: string,
  o: Partial<typeof schema.customEventTypes.$inferInsert> = {},
) {
  const [row] = await h.t.db
    .insert(schema.customEventTypes)
    .values({ workspaceId, name: alias, alias, ...o })
    .returning();
  if (!row) throw new Error("no event type");
  return row;
}

/** Enters the funnel; returns the visitor and the lander hit the actions come out of. */
async function onLander(host: string, kit: CampaignKit) {
  const res = await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId, external: "clk-1" } });
  const landerHit = location(res).searchParams.get("hit") as string;
  return { vid: visitorCookieOf(res), landerHit };
}

describe("on-action triggers", () => {
  it("an action-triggered conversion lands on the lander's hit with its fixed revenue, credited and postbacked", async () => {
    const { workspaceId, host, kit } = await h.tenant({
      postbackUrl: "https://ts.example/pb?c={external}&p={payout}",
    });
    await setTriggers(workspaceId, kit, { conversion: { revenue: "4.20" } });
    const { vid, landerHit } = await onLander(host, kit);

    const res = await act(h, host, 1, { cookie: vid });
    const offerHit = location(res).searchParams.get("clickid");
    expect(offerHit).toBeTruthy();

    const tables = conversionTables(h.t.db, workspaceId);
    const [conversion, ...more] = await tables.conversions();
    expect(more).toEqual([]);
    expect(conversion).toMatchObject({
      hitId: landerHit,
      tx: "action-1",
      revenue: "4.200000",
      eventKey: "",
      deletedAt: null,
    });
    const log = await tables.log();
    expect(log.map((l) => [l.channel, l.outcome])).toEqual([["action", "created"]]);
    const revisions = await tables.revisions(conversion?.id);
    expect(revisions).toHaveLength(1);
    expect(revisions[0]).toMatchObject({
      source: "action",
      raw: { method: "action", params: { action: "1", hit: landerHit } },
    });
    const deliveries = await tables.deliveries();
    expect(deliveries.map((d) => d.url)).toEqual(["https://ts.example/pb?c=clk-1&p=4.2"]);
  });

  it("without a fixed revenue the conversion takes the lander's default payout (0)", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    await setTriggers(workspaceId, kit, { conversion: {} });
    const { vid, landerHit } = await onLander(host, kit);
    location(await act(h, host, 1, { cookie: vid }));
    const [conversion] = await conversionTables(h.t.db, workspaceId).conversions();
    expect(conversion).toMatchObject({ hitId: landerHit, revenue: "0.000000" });
  });

  it("an action-triggered custom event is recorded under its type; one without a postback fires none", async () => {
    const { workspaceId, host, kit } = await h.tenant({ postbackUrl: "https://ts.example/pb?e={event}" });
    const lead = await eventType(workspaceId, "lead", {
      hasRevenue: true,
      defaultRevenue: "1.5",
      firesPostback: true,
    });
    const click = await eventType(workspaceId, "cta_click");
    await setTriggers(
      workspaceId,
      kit,
      {},
      { events: [{ eventTypeId: lead.id }, { eventTypeId: click.id, revenue: "9" }] },
    );
    const { vid, landerHit } = await onLander(host, kit);

    location(await act(h, host, 2, { cookie: vid }));
    const tables = conversionTables(h.t.db, workspaceId);
    const rows = await tables.conversions();
    const byKey = new Map(rows.map((r) => [r.eventKey, r]));
    expect(byKey.get(lead.id)).toMatchObject({
      hitId: landerHit,
      eventTypeId: lead.id,
      revenue: "1.500000",
      tx: "action-2",
    });
    // A type without revenue only counts: the trigger's 9 is not recorded.
    expect(byKey.get(click.id)).toMatchObject({
      hitId: landerHit,
      eventTypeId: click.id,
      revenue: "0.000000",
    });
    expect(rows).toHaveLength(2);
    const deliveries = await tables.deliveries();
    expect(deliveries.map((d) => d.url)).toEqual(["https://ts.example/pb?e=lead"]);
  });

  it("a repeated click (back button, second tab) does not count a trigger twice", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    const lead = await eventType(workspaceId, "lead");
    await setTriggers(workspaceId, kit, { conversion: { revenue: "2" }, events: [{ eventTypeId: lead.id }] });
    const { vid, landerHit } = await onLander(host, kit);

    const first = location(await act(h, host, 1, { cookie: vid }));
    // The tag's rewritten link names the lander hit, so the repeat originates from the lander.
    const again = location(await act(h, host, 1, { query: { hit: landerHit } }));
    expect(again.searchParams.get("clickid")).not.toBe(first.searchParams.get("clickid"));

    const tables = conversionTables(h.t.db, workspaceId);
    const rows = await tables.conversions();
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r).toMatchObject({ hitId: landerHit, revision: 1 });
    const outcomes = (await tables.log()).map((l) => l.outcome).sort();
    expect(outcomes).toEqual(["created", "created", "ignored", "ignored"]);
  });

  it("a back-button return (a new lander hit in the same session) updates the one conversion, never doubles it", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    const lead = await eventType(workspaceId, "lead");
    await setTriggers(workspaceId, kit, { conversion: { revenue: "2" }, events: [{ eventTypeId: lead.id }] });
    const { vid, landerHit } = await onLander(host, kit);
    location(await act(h, host, 1, { cookie: vid }));
    // Back: the lander is loaded again through the entrance, a new hit of the same visitor.
    const back = await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId }, cookie: vid });
    const secondView = location(back).searchParams.get("hit") as string;
    expect(secondView).not.toBe(landerHit);
    expect(visitorCookieOf(back)).toBe(vid);
    location(await act(h, host, 1, { query: { hit: secondView } }));

    const tables = conversionTables(h.t.db, workspaceId);
    const rows = await tables.conversions();
    expect(rows.map((r) => [r.hitId, r.tx, r.revision]).sort()).toEqual([
      [landerHit, "action-1", 1],
      [landerHit, "action-1", 1],
    ]);
    expect((await tables.log()).map((l) => l.outcome).sort()).toEqual([
      "created",
      "created",
      "ignored",
      "ignored",
    ]);

    // The trigger's revenue edited, then the action again: the one conversion is updated.
    await setTriggers(workspaceId, kit, { conversion: { revenue: "5" } });
    h.app.funnelCache.clear();
    location(await act(h, host, 1, { query: { hit: secondView } }));
    const after = (await tables.conversions()).filter((r) => r.eventKey === "");
    expect(after.map((r) => [r.hitId, r.revenue, r.revision])).toEqual([[landerHit, "5.000000", 2]]);
  });

  it('a trigger set to "every time" counts each click, on the hit clicked on', async () => {
    const { workspaceId, host, kit } = await h.tenant();
    const click = await eventType(workspaceId, "cta_click");
    await setTriggers(workspaceId, kit, {
      conversion: { revenue: "2" },
      events: [{ eventTypeId: click.id, everyTime: true }],
    });
    const { vid, landerHit } = await onLander(host, kit);
    location(await act(h, host, 1, { cookie: vid }));
    location(await act(h, host, 1, { query: { hit: landerHit } }));
    const back = await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId }, cookie: vid });
    const secondView = location(back).searchParams.get("hit") as string;
    location(await act(h, host, 1, { query: { hit: secondView } }));

    const rows = await conversionTables(h.t.db, workspaceId).conversions();
    const events = rows.filter((r) => r.eventKey === click.id);
    expect(events.map((r) => r.hitId).sort()).toEqual([landerHit, landerHit, secondView].sort());
    expect(new Set(events.map((r) => r.tx)).size).toBe(3);
    // The conversion beside it stays once per session.
    expect(rows.filter((r) => r.eventKey === "").map((r) => [r.hitId, r.tx])).toEqual([
      [landerHit, "action-1"],
    ]);
  });

  it("rev=-1 on a trigger deletes the conversion the action made, like a rejected status", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    await setTriggers(workspaceId, kit, { conversion: { revenue: "2" } });
    const { vid, landerHit } = await onLander(host, kit);
    location(await act(h, host, 1, { cookie: vid }));
    await setTriggers(workspaceId, kit, { conversion: { revenue: "-1" } });
    h.app.funnelCache.clear();
    location(await act(h, host, 1, { query: { hit: landerHit } }));
    const tables = conversionTables(h.t.db, workspaceId);
    const [row, ...more] = await tables.conversions();
    expect(more).toEqual([]);
    // Kept for the audit trail with the revenue it had; the deleting revision carries -1.
    expect(row).toMatchObject({ hitId: landerHit, status: "rejected", revision: 2 });
    expect(row?.deletedAt).not.toBeNull();
    expect((await tables.revisions(row?.id)).map((r) => r.revenue)).toEqual(["2.000000", "-1.000000"]);
    const log = await tables.log();
    expect(log.map((l) => l.outcome).sort()).toEqual(["created", "deleted"]);
    expect(log.find((l) => l.outcome === "deleted")?.reason).toContain(
      "rev=-1: deletes the conversion, as a rejected status does",
    );
  });

  it("simultaneous repeat clicks record one conversion", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    await setTriggers(workspaceId, kit, { conversion: { revenue: "3" } });
    const { landerHit } = await onLander(host, kit);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => act(h, host, 1, { query: { hit: landerHit } })),
    );
    for (const a of answers) expect(a.statusCode).toBe(302);
    const rows = await conversionTables(h.t.db, workspaceId).conversions();
    expect(rows.map((r) => [r.hitId, r.revenue, r.revision])).toEqual([[landerHit, "3.000000", 1]]);
  });

  it("two actions with conversion triggers are two conversions; an action without triggers records none", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    await setTriggers(workspaceId, kit, { conversion: { revenue: "1" } }, { conversion: { revenue: "2" } });
    const { landerHit } = await onLander(host, kit);
    location(await act(h, host, 1, { query: { hit: landerHit } }));
    location(await act(h, host, 2, { query: { hit: landerHit } }));
    const rows = await conversionTables(h.t.db, workspaceId).conversions();
    expect(rows.map((r) => [r.tx, r.revenue]).sort()).toEqual([
      ["action-1", "1.000000"],
      ["action-2", "2.000000"],
    ]);

    const other = await h.tenant();
    const visit = await onLander(other.host, other.kit);
    location(await act(h, other.host, 1, { cookie: visit.vid }));
    expect(await conversionTables(h.t.db, other.workspaceId).conversions()).toEqual([]);
  });

  it("a trigger naming a deleted event type is skipped and the click still redirects", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    await setTriggers(workspaceId, kit, {
      conversion: { revenue: "1" },
      events: [{ eventTypeId: "0190f5d2-0000-7000-8000-000000000000" }],
    });
    const { vid } = await onLander(host, kit);
    const res = await act(h, host, 1, { cookie: vid });
    expect(res.statusCode).toBe(302);
    const rows = await conversionTables(h.t.db, workspaceId).conversions();
    expect(rows.map((r) => r.eventKey)).toEqual([""]);
  });
});
