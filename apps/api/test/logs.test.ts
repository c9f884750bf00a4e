import { and, eq, schema, sql } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCode, type Harness, seedDelivery, startHarness, type Tenant } from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("conversion and postback logs", () => {
  it("lists conversions newest first with their revisions, and one with its touches", async () => {
    const viewer = h.client({ cookie: h.a.users.viewer.cookie });
    const page = await viewer.conversions.list.query({ workspaceId: h.a.workspace.id });
    expect(page.items.map((c) => c.id)).toEqual([h.a.conversionId]);
    expect(page.items[0]).toMatchObject({ revenue: "12.500000", revision: 2, tx: "T-1" });
    expect(page.items[0]?.revisions.map((r) => [r.revision, r.action, r.revenue])).toEqual([
      [1, "created", "10.000000"],
      [2, "updated", "12.500000"],
    ]);
    const one = await viewer.conversions.get.query({
      workspaceId: h.a.workspace.id,
      conversionId: h.a.conversionId,
    });
    // No touch rows were seeded: the direct touch is the conversion's own hit all the same.
    expect(one).toMatchObject({
      id: h.a.conversionId,
      touches: [{ hitId: one.hitId, nodeId: one.nodeId, pageId: one.pageId, kind: "direct", position: 0 }],
    });
    expect(
      (await viewer.conversions.list.query({ workspaceId: h.a.workspace.id, tx: "nope" })).items,
    ).toEqual([]);
  });

  it("searches the received-postback log by the reason's words and by channel", async () => {
    const viewer = h.client({ cookie: h.a.users.viewer.cookie });
    const wsId = h.a.workspace.id;
    const rows = await h.t.db
      .insert(schema.receivedPostbacks)
      .values([
        { workspaceId: wsId, method: "GET", outcome: "rejected", httpStatus: 404, reason: "hit not found" },
        {
          workspaceId: wsId,
          method: "GET",
          outcome: "rejected",
          httpStatus: 400,
          reason: "unknown status word 'foo' (100%_sure)",
        },
        {
          workspaceId: wsId,
          method: "track",
          channel: "tag",
          outcome: "ignored",
          httpStatus: 200,
          reason: "no change",
        },
      ])
      .returning({ id: schema.receivedPostbacks.id });
    try {
      const reasons = async (filter: Record<string, unknown>) =>
        (await viewer.postbacks.list.query({ workspaceId: wsId, ...filter })).items.map((p) => p.reason);
      expect(await reasons({ reason: "HIT NOT" })).toEqual(["hit not found"]);
      expect(await reasons({ reason: "unknown status" })).toEqual(["unknown status word 'foo' (100%_sure)"]);
      // % and _ are the user's characters, not wildcards.
      expect(await reasons({ reason: "100%_" })).toEqual(["unknown status word 'foo' (100%_sure)"]);
      expect(await reasons({ reason: "n%d" })).toEqual([]);
      expect(await reasons({ channel: "tag" })).toEqual(["no change"]);
      // Another workspace's log is not searched.
      expect(
        (
          await h
            .client({ cookie: h.b.users.owner.cookie })
            .postbacks.list.query({ workspaceId: h.b.workspace.id, reason: "hit not found" })
        ).items,
      ).toEqual([]);
    } finally {
      for (const r of rows)
        await h.t.db.delete(schema.receivedPostbacks).where(eq(schema.receivedPostbacks.id, r.id));
    }
  });

  it("filters the received-postback log by hit, tx, outcome, status word and time", async () => {
    const viewer = h.client({ cookie: h.a.users.viewer.cookie });
    const wsId = h.a.workspace.id;
    const all = await viewer.postbacks.list.query({ workspaceId: wsId });
    expect(all.items.map((p) => p.id)).toEqual([h.a.receivedPostbackId]);
    const hitId = all.items[0]?.hitId ?? "";
    const ids = async (filter: Record<string, unknown>) =>
      (await viewer.postbacks.list.query({ workspaceId: wsId, ...filter })).items.map((p) => p.id);
    expect(await ids({ hitId })).toEqual([h.a.receivedPostbackId]);
    expect(await ids({ tx: "T-1" })).toEqual([h.a.receivedPostbackId]);
    expect(await ids({ tx: "T-2" })).toEqual([]);
    expect(await ids({ outcome: "created" })).toEqual([h.a.receivedPostbackId]);
    expect(await ids({ outcome: "rejected" })).toEqual([]);
    expect(await ids({ statusWord: "APPROVED" })).toEqual([h.a.receivedPostbackId]);
    expect(await ids({ from: new Date(Date.now() - 60_000).toISOString() })).toEqual([
      h.a.receivedPostbackId,
    ]);
    expect(await ids({ to: new Date(Date.now() - 3_600_000).toISOString() })).toEqual([]);
    await expectCode(
      viewer.postbacks.list.query({ workspaceId: wsId, from: "yesterday" }),
      "BAD_REQUEST",
      /^from: /,
    );
    await expectCode(
      viewer.postbacks.list.query({ workspaceId: wsId, outcome: "maybe" as "created" }),
      "BAD_REQUEST",
      /^outcome: /,
    );
    // B's log is B's: A's hit filter finds nothing there, B's hit finds nothing here.
    const bLog = await h
      .client({ cookie: h.b.users.owner.cookie })
      .postbacks.list.query({ workspaceId: h.b.workspace.id, hitId });
    expect(bLog.items).toEqual([]);
  });

  it("pages by cursor", async () => {
    const viewer = h.client({ cookie: h.a.users.viewer.cookie });
    for (let i = 0; i < 3; i++) {
      await seedDelivery(h.t, h.a.workspace.id, {
        conversionId: h.a.conversionId,
        trafficSourceId: h.a.kit.trafficSourceId,
        status: "delivered",
      });
    }
    const first = await viewer.deliveries.list.query({ workspaceId: h.a.workspace.id, limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toBe(first.items[1]?.id);
    const second = await viewer.deliveries.list.query({
      workspaceId: h.a.workspace.id,
      limit: 2,
      before: first.nextCursor ?? undefined,
    });
    expect(second.items.map((d) => d.id)).not.toContain(first.items[0]?.id);
    expect(String(second.items[0]?.id) < String(first.items[1]?.id)).toBe(true);
  });
});

describe("outbound deliveries", () => {
  it("shows each delivery with its attempts", async () => {
    const d = await h.client({ cookie: h.a.users.viewer.cookie }).deliveries.get.query({
      workspaceId: h.a.workspace.id,
      deliveryId: h.a.deliveryId,
    });
    expect(d).toMatchObject({
      status: "dead",
      attempts: 1,
      attemptLog: [{ attempt: 1, statusCode: 500, latencyMs: 42 }],
    });
  });

  it("replays every dead delivery of a traffic source since a time, and nothing else", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const wsId = h.a.workspace.id;
    const seed = (status: "dead" | "delivered" | "failed") =>
      seedDelivery(h.t, wsId, {
        conversionId: h.a.conversionId,
        trafficSourceId: h.a.kit.trafficSourceId,
        status,
      });
    const old = await seed("dead");
    await h.t.db
      .update(schema.outboundDeliveries)
      .set({ createdAt: new Date(Date.now() - 3 * 86_400_000) })
      .where(eq(schema.outboundDeliveries.id, old));
    const since = new Date(Date.now() - 86_400_000).toISOString();
    const deadA = await seed("dead");
    const deadB = await seed("dead");
    const delivered = await seed("delivered");
    const retrying = await seed("failed");

    const result = await member.deliveries.replaySince.mutate({
      workspaceId: wsId,
      trafficSourceId: h.a.kit.trafficSourceId,
      since,
    });
    expect(result.replayed).toBeGreaterThanOrEqual(2);
    expect(result.more).toBe(false);
    const status = async (id: string) =>
      (await h.t.db.select().from(schema.outboundDeliveries).where(eq(schema.outboundDeliveries.id, id)))[0]
        ?.status;
    expect(await status(deadA)).toBe("pending");
    expect(await status(deadB)).toBe("pending");
    expect(await status(old)).toBe("dead");
    expect(await status(delivered)).toBe("delivered");
    expect(await status(retrying)).toBe("failed");
    const jobs = await h.t.db
      .select()
      .from(schema.outbox)
      .where(
        and(
          eq(schema.outbox.workspaceId, wsId),
          sql`${schema.outbox.jobId} like ${`deliver-${deadA}-replay-%`}`,
        ),
      );
    expect(jobs).toHaveLength(1);

    // Another workspace's traffic source is "not found"; a viewer may not replay.
    await expectCode(
      member.deliveries.replaySince.mutate({
        workspaceId: wsId,
        trafficSourceId: h.b.kit.trafficSourceId,
        since,
      }),
      "NOT_FOUND",
    );
    await expectCode(
      h.client({ cookie: h.a.users.viewer.cookie }).deliveries.replaySince.mutate({
        workspaceId: wsId,
        trafficSourceId: h.a.kit.trafficSourceId,
        since,
      }),
      "FORBIDDEN",
    );
  });

  it("replays a finished delivery: pending again plus an outbox row in the same transaction", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const deliveryId = await seedDelivery(h.t, h.a.workspace.id, {
      conversionId: h.a.conversionId,
      trafficSourceId: h.a.kit.trafficSourceId,
      status: "dead",
    });
    const first = await member.deliveries.replay.mutate({ workspaceId: h.a.workspace.id, deliveryId });
    expect(first.delivery.status).toBe("pending");
    expect(first.jobId).toMatch(new RegExp(`^deliver-${deliveryId}-replay-\\d+$`));
    const rows = await h.t.db
      .select()
      .from(schema.outbox)
      .where(
        and(
          eq(schema.outbox.workspaceId, h.a.workspace.id),
          sql`${schema.outbox.jobId} like ${`deliver-${deliveryId}-%`}`,
        ),
      );
    expect(rows).toMatchObject([
      {
        topic: "postback.deliver",
        jobId: first.jobId,
        payload: { workspaceId: h.a.workspace.id, deliveryId },
        delayMs: 0,
        relayedAt: null,
      },
    ]);
    await expectCode(
      member.deliveries.replay.mutate({ workspaceId: h.a.workspace.id, deliveryId }),
      "CONFLICT",
      /still pending/,
    );

    await h.t.db
      .update(schema.outboundDeliveries)
      .set({ status: "delivered" })
      .where(eq(schema.outboundDeliveries.id, deliveryId));
    const second = await member.deliveries.replay.mutate({ workspaceId: h.a.workspace.id, deliveryId });
    expect(second.jobId).not.toBe(first.jobId);
    const [audit] = await h.t.db
      .select()
      .from(schema.auditLog)
      .where(and(eq(schema.auditLog.entityId, deliveryId), eq(schema.auditLog.action, "delivery.replay")));
    expect(audit?.actorUserId).toBe(h.a.users.member.id);
  });
});

describe("reports", () => {
  const HOUR = (iso: string) => new Date(iso);

  async function seedRollups(t: Tenant, scale: number) {
    const k = t.kit;
    const base = { workspaceId: t.workspace.id, funnelId: k.funnelId, trafficSourceId: k.trafficSourceId };
    await h.t.db.insert(schema.hitRollupsHourly).values([
      // 03:00 UTC on the 15th is the evening of the 14th in New York.
      {
        ...base,
        hour: HOUR("2025-01-15T03:00:00Z"),
        nodeId: k.nodes.lander,
        pageId: k.landerId,
        pageKind: "lander",
        country: "US",
        deviceType: "mobile",
        visits: 10 * scale,
        entrances: 10 * scale,
        cost: "2.5",
      },
      // Bot hits are rows of their own: counted in `bots`, left out of the other counts.
      {
        ...base,
        hour: HOUR("2025-01-15T03:00:00Z"),
        nodeId: k.nodes.lander,
        pageId: k.landerId,
        pageKind: "lander",
        country: "US",
        deviceType: "mobile",
        isBot: true,
        visits: 1,
        entrances: 1,
        bots: 1,
      },
      {
        ...base,
        hour: HOUR("2025-01-15T15:00:00Z"),
        nodeId: k.nodes.lander,
        pageId: k.landerId,
        pageKind: "lander",
        country: "US",
        deviceType: "mobile",
        visits: 80 * scale,
        entrances: 80 * scale,
        // The offer's 40 visits came from this lander's clicks.
        actionClicks: 40 * scale,
        cost: "20",
      },
      {
        ...base,
        hour: HOUR("2025-01-15T15:00:00Z"),
        nodeId: k.nodes.lander,
        pageId: k.landerId,
        pageKind: "lander",
        country: "US",
        deviceType: "mobile",
        isBot: true,
        visits: 2,
        entrances: 2,
        bots: 2,
      },
      {
        ...base,
        hour: HOUR("2025-01-15T15:00:00Z"),
        nodeId: k.nodes.lander,
        pageId: k.landerId,
        pageKind: "lander",
        country: "DE",
        deviceType: "desktop",
        visits: 20 * scale,
        entrances: 20 * scale,
        cost: "5",
      },
      {
        ...base,
        hour: HOUR("2025-01-15T15:00:00Z"),
        nodeId: k.nodes.offerA,
        pageId: k.offerIds[0],
        pageKind: "offer",
        country: "US",
        deviceType: "mobile",
        visits: 40 * scale,
        cost: "0",
      },
    ]);
    await h.t.db.insert(schema.conversionRollupsHourly).values([
      {
        ...base,
        hour: HOUR("2025-01-15T15:00:00Z"),
        nodeId: k.nodes.offerA,
        pageId: k.offerIds[0],
        country: "US",
        deviceType: "mobile",
        eventKey: "",
        touchKind: "direct",
        conversions: 4,
        revenue: "50",
      },
      {
        ...base,
        hour: HOUR("2025-01-15T15:00:00Z"),
        nodeId: k.nodes.lander,
        pageId: k.landerId,
        eventKey: "",
        touchKind: "assisted",
        conversions: 4,
        revenue: "50",
      },
      // A custom event is not a conversion and stays out of these metrics.
      {
        ...base,
        hour: HOUR("2025-01-15T15:00:00Z"),
        nodeId: k.nodes.offerA,
        pageId: k.offerIds[0],
        eventKey: t.eventTypeId,
        touchKind: "direct",
        conversions: 9,
        revenue: "9",
      },
    ]);
  }

  beforeAll(async () => {
    await seedRollups(h.a, 1);
    await seedRollups(h.b, 100);
    await h.t.db
      .update(schema.workspaces)
      .set({ timeZone: "America/New_York" })
      .where(eq(schema.workspaces.id, h.a.workspace.id));
  });

  it("totals a local day: visits (entrances), page views, clicks, cost, conversions, profit and ratios", async () => {
    const r = await h.client({ cookie: h.a.users.viewer.cookie }).reports.run.query({
      workspaceId: h.a.workspace.id,
      from: "2025-01-15",
      to: "2025-01-15",
    });
    expect(r.timeZone).toBe("America/New_York");
    expect(r.totals).toEqual({
      // 100 visitors entered (80 + 20, bots apart); they viewed 140 pages, 40 of them by a click.
      visits: 100,
      pageViews: 140,
      clicks: 40,
      ctr: 0.4,
      uniqueVisitors: 0,
      bots: 2,
      cost: "25",
      costUpdatedVisits: 0,
      direct: { conversions: 4, revenue: "50" },
      assisted: { conversions: 4, revenue: "50" },
      profit: "25",
      roi: 1,
      cr: 0.04,
      epv: "0.5",
      epc: "1.25",
      cpa: "6.25",
      // The custom event is its own column, not a conversion (its type does not count as one).
      events: {
        [h.a.eventTypeId]: {
          direct: { conversions: 9, revenue: "9" },
          assisted: { conversions: 0, revenue: "0" },
        },
      },
    });
  });

  it("groups by day in the workspace's time zone and by offer, with names", async () => {
    const viewer = h.client({ cookie: h.a.users.viewer.cookie });
    const byDay = await viewer.reports.run.query({
      workspaceId: h.a.workspace.id,
      from: "2025-01-14",
      to: "2025-01-15",
      groupBy: ["day"],
    });
    expect(byDay.rows.map((r) => [r.key.day, r.metrics.visits, r.metrics.direct?.conversions])).toEqual([
      ["2025-01-14", 10, 0],
      ["2025-01-15", 100, 4],
    ]);

    const byOffer = await viewer.reports.run.query({
      workspaceId: h.a.workspace.id,
      from: "2025-01-15",
      to: "2025-01-15",
      groupBy: ["offer"],
    });
    const offerRow = byOffer.rows.find((r) => r.key.offer === h.a.kit.offerIds[0]);
    expect(offerRow).toMatchObject({
      labels: { offer: "Demo offer A" },
      metrics: {
        visits: 40,
        direct: { conversions: 4, revenue: "50" },
        assisted: { conversions: 0, revenue: "0" },
        epv: "1.25",
      },
    });

    const byLander = await viewer.reports.run.query({
      workspaceId: h.a.workspace.id,
      from: "2025-01-15",
      to: "2025-01-15",
      groupBy: ["lander", "hour"],
    });
    expect(byLander.rows.find((r) => r.key.lander === h.a.kit.landerId)).toMatchObject({
      key: { hour: "2025-01-15T10:00" },
      labels: { lander: "Demo lander" },
      metrics: {
        visits: 100,
        cost: "25",
        direct: { conversions: 0 },
        assisted: { conversions: 4, revenue: "50" },
      },
    });
  });

  it("splits visits and conversions by country and device", async () => {
    const r = await h.client({ cookie: h.a.users.viewer.cookie }).reports.run.query({
      workspaceId: h.a.workspace.id,
      from: "2025-01-15",
      to: "2025-01-15",
      groupBy: ["country", "device"],
    });
    // Conversions carry the country and device of the visit they credit (the offer visit: US mobile).
    const byKey = Object.fromEntries(
      r.rows.map((x) => [`${x.key.country}/${x.key.device}`, [x.metrics.visits, x.metrics.direct]]),
    );
    expect(byKey).toMatchObject({
      "US/mobile": [80, { conversions: 4, revenue: "50" }],
      "DE/desktop": [20, { conversions: 0, revenue: "0" }],
    });
    expect(r.totals.direct).toEqual({ conversions: 4, revenue: "50" });
    expect(r.notes).toEqual(["bots are left out of visits, page views, clicks and unique visitors"]);
  });

  it("refuses bad ranges and groupings by field", async () => {
    const viewer = h.client({ cookie: h.a.users.viewer.cookie });
    const wsId = h.a.workspace.id;
    await expectCode(
      viewer.reports.run.query({ workspaceId: wsId, from: "2025-01-15", to: "2025-01-01" }),
      "BAD_REQUEST",
      /^to: /,
    );
    await expectCode(
      viewer.reports.run.query({ workspaceId: wsId, from: "15/01/2025", to: "2025-01-15" }),
      "BAD_REQUEST",
      /^from: /,
    );
    await expectCode(
      viewer.reports.run.query({
        workspaceId: wsId,
        from: "2025-01-01",
        to: "2025-01-02",
        groupBy: ["day", "hour", "offer", "funnel"],
      }),
      "BAD_REQUEST",
      /^groupBy: /,
    );
    await expectCode(
      viewer.reports.run.query({
        workspaceId: wsId,
        from: "2025-01-01",
        to: "2025-01-02",
        groupBy: ["planet" as "day"],
      }),
      "BAD_REQUEST",
      /^groupBy\[0\]: /,
    );
  });
});
