import { randomBytes } from "node:crypto";
import { schema } from "@hitrail/db/testing/sql";
import { readFunnelVersion } from "@hitrail/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { todayIn } from "../src/services/funnels/stats.ts";
import { expectCode, type Harness, startHarness } from "./harness.ts";

// Editing campaign objects after they were made: update with create's validation, archive and
// restore, archived ones listed on request, funnels cloned; never across workspaces.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const unique = () => randomBytes(4).toString("hex");

describe("editing campaign objects", () => {
  it("edits an offer with create's validation, archives and restores it, and lists archived ones on request", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const wsId = h.a.workspace.id;
    const offer = await member.offers.create.mutate({
      workspaceId: wsId,
      name: `Offer ${unique()}`,
      url: "https://network.example/o?c={hit}",
      defaultPayout: "2",
    });
    const edited = await member.offers.update.mutate({
      workspaceId: wsId,
      offerId: offer.id,
      defaultPayout: "3.75",
      offerSourceId: h.a.kit.offerSourceId,
    });
    expect(Number(edited.defaultPayout)).toBe(3.75);
    expect(edited.offerSourceId).toBe(h.a.kit.offerSourceId);
    // The same rules as creation: a payout that is no amount, a URL with a token in the host.
    await expectCode(
      member.offers.update.mutate({ workspaceId: wsId, offerId: offer.id, defaultPayout: "lots" }),
      "BAD_REQUEST",
      /^defaultPayout: must be an amount/,
    );
    await expectCode(
      member.offers.update.mutate({ workspaceId: wsId, offerId: offer.id, url: "https://{hit}.example/" }),
      "BAD_REQUEST",
      /^url: /,
    );
    // An offer source of another workspace is not found, and nothing changed.
    await expectCode(
      member.offers.update.mutate({
        workspaceId: wsId,
        offerId: offer.id,
        offerSourceId: h.b.kit.offerSourceId,
      }),
      "NOT_FOUND",
    );
    expect((await member.offers.get.query({ workspaceId: wsId, offerId: offer.id })).offerSourceId).toBe(
      h.a.kit.offerSourceId,
    );

    const archived = await member.offers.archive.mutate({ workspaceId: wsId, offerId: offer.id });
    expect(archived.archivedAt).not.toBeNull();
    const live = await member.offers.list.query({ workspaceId: wsId });
    expect(live.items.map((o) => o.id)).not.toContain(offer.id);
    const all = await member.offers.list.query({ workspaceId: wsId, includeArchived: true });
    expect(all.items.find((o) => o.id === offer.id)?.archivedAt).toBe(archived.archivedAt);

    const restored = await member.offers.archive.mutate({
      workspaceId: wsId,
      offerId: offer.id,
      archived: false,
    });
    expect(restored.archivedAt).toBeNull();
    expect((await member.offers.list.query({ workspaceId: wsId })).items.map((o) => o.id)).toContain(
      offer.id,
    );

    const audit = await h.client({ cookie: h.a.users.admin.cookie }).audit.list.query({ workspaceId: wsId });
    const mine = audit.items.filter((a) => a.entityId === offer.id).map((a) => a.action);
    expect(mine).toEqual(
      expect.arrayContaining(["offer.create", "offer.update", "offer.archive", "offer.restore"]),
    );
  });

  it("edits, archives and restores traffic sources, offer sources and landers the same way", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const wsId = h.a.workspace.id;
    const ts = await member.trafficSources.update.mutate({
      workspaceId: wsId,
      trafficSourceId: h.a.kit.trafficSourceId,
      costParam: "cpc",
    });
    expect(ts.costParam).toBe("cpc");
    await expectCode(
      member.trafficSources.update.mutate({
        workspaceId: wsId,
        trafficSourceId: h.a.kit.trafficSourceId,
        postbackUrl: "not a url",
      }),
      "BAD_REQUEST",
      /^postbackUrl: /,
    );
    const os = await member.offerSources.update.mutate({
      workspaceId: wsId,
      offerSourceId: h.a.kit.offerSourceId,
      clickIdParam: "s2",
    });
    expect(os.clickIdParam).toBe("s2");
    const lander = await member.landers.update.mutate({
      workspaceId: wsId,
      landerId: h.a.kit.landerId,
      name: "Quiz v2",
    });
    expect(lander.name).toBe("Quiz v2");

    for (const [archive, input] of [
      [member.trafficSources.archive, { trafficSourceId: h.a.kit.trafficSourceId }],
      [member.offerSources.archive, { offerSourceId: h.a.kit.offerSourceId }],
      [member.landers.archive, { landerId: h.a.kit.landerId }],
    ] as const) {
      const mutate = archive.mutate as (i: object) => Promise<{ archivedAt: string | null }>;
      expect((await mutate({ workspaceId: wsId, ...input })).archivedAt).not.toBeNull();
      expect((await mutate({ workspaceId: wsId, ...input, archived: false })).archivedAt).toBeNull();
    }
  });

  it("lets no other workspace edit, archive, restore or clone what is not its own", async () => {
    const other = h.client({ cookie: h.b.users.owner.cookie });
    const wsB = h.b.workspace.id;
    await expectCode(
      other.offers.update.mutate({ workspaceId: wsB, offerId: h.a.kit.offerIds[0] ?? "", name: "Mine now" }),
      "NOT_FOUND",
    );
    await expectCode(
      other.landers.archive.mutate({ workspaceId: wsB, landerId: h.a.kit.landerId, archived: false }),
      "NOT_FOUND",
    );
    await expectCode(
      other.trafficSources.update.mutate({
        workspaceId: wsB,
        trafficSourceId: h.a.kit.trafficSourceId,
        costParam: "x",
      }),
      "NOT_FOUND",
    );
    await expectCode(
      other.funnels.clone.mutate({ workspaceId: wsB, funnelId: h.a.kit.funnelId }),
      "NOT_FOUND",
    );
    await expectCode(
      other.funnels.archive.mutate({ workspaceId: wsB, funnelId: h.a.kit.funnelId }),
      "NOT_FOUND",
    );
    await expectCode(
      other.funnels.stats.query({
        workspaceId: wsB,
        funnelId: h.a.kit.funnelId,
        from: "2026-01-01",
        to: "2026-01-31",
      }),
      "NOT_FOUND",
    );
    // And workspace A's own funnel is still live.
    const a = h.client({ cookie: h.a.users.viewer.cookie });
    expect(
      (await a.funnels.get.query({ workspaceId: h.a.workspace.id, funnelId: h.a.kit.funnelId })).archivedAt,
    ).toBeNull();
    // A viewer may look but not change.
    await expectCode(
      a.funnels.clone.mutate({ workspaceId: h.a.workspace.id, funnelId: h.a.kit.funnelId }),
      "FORBIDDEN",
    );
  });
});

describe("funnels", () => {
  it("clones a funnel with new node ids, the same graph, and an audit row", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const wsId = h.a.workspace.id;
    const original = await member.funnels.get.query({ workspaceId: wsId, funnelId: h.a.kit.funnelId });
    const copy = await member.funnels.clone.mutate({ workspaceId: wsId, funnelId: original.id });
    expect(copy.name).toBe(`${original.name} (copy)`);
    expect(copy.funnelId).not.toBe(original.id);
    const cloned = await member.funnels.get.query({ workspaceId: wsId, funnelId: copy.funnelId });
    expect(cloned.nodes).toHaveLength(original.nodes.length);
    const originalIds = new Set(original.nodes.map((n) => n.id));
    expect(cloned.nodes.some((n) => originalIds.has(n.id))).toBe(false);
    // Same shape: node names and kinds, actions by number, entry is an entry node.
    const shape = (f: typeof original) => ({
      nodes: f.nodes.map((n) => `${n.kind}:${n.name}`).sort(),
      actions: f.actions
        .map((a) => {
          const name = (id: string) => f.nodes.find((n) => n.id === id)?.name;
          return `${name(a.from)}-${a.number}->${name(a.to)}`;
        })
        .sort(),
      entry: f.nodes.find((n) => n.id === f.entryNodeId)?.kind,
    });
    expect(shape(cloned)).toEqual(shape(original));
    // Every route and action points inside the copy.
    const clonedIds = new Set(cloned.nodes.map((n) => n.id));
    expect(cloned.actions.every((a) => clonedIds.has(a.from) && clonedIds.has(a.to))).toBe(true);
    const entry = cloned.nodes.find((n) => n.id === cloned.entryNodeId);
    const routes = (entry?.config as { routes?: Array<{ to: string }> } | undefined)?.routes ?? [];
    expect(routes.length).toBeGreaterThan(0);
    expect(routes.every((r) => clonedIds.has(r.to))).toBe(true);

    const named = await member.funnels.clone.mutate({
      workspaceId: wsId,
      funnelId: original.id,
      name: "Spring",
    });
    expect(named.name).toBe("Spring");
    const audit = await h.client({ cookie: h.a.users.admin.cookie }).audit.list.query({ workspaceId: wsId });
    expect(audit.items.find((a) => a.entityId === copy.funnelId)?.action).toBe("funnel.clone");
  });

  it("lists the real node count and today's visits, conversions and revenue in the workspace's zone", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const wsId = h.a.workspace.id;
    const kit = h.a.kit;
    const hour = new Date();
    hour.setUTCMinutes(0, 0, 0);
    await h.t.db.insert(schema.hitRollupsHourly).values([
      {
        workspaceId: wsId,
        hour,
        funnelId: kit.funnelId,
        nodeId: kit.nodes.lander,
        pageId: kit.landerId,
        pageKind: "lander",
        // Five journeys entered at the lander; three of them went on to the offer.
        entrances: 5,
        visits: 5,
      },
      {
        workspaceId: wsId,
        hour,
        funnelId: kit.funnelId,
        nodeId: kit.nodes.offerA,
        pageId: kit.offerIds[0] ?? null,
        pageKind: "offer",
        visits: 3,
      },
    ]);
    await h.t.db.insert(schema.conversionRollupsHourly).values({
      workspaceId: wsId,
      hour,
      funnelId: kit.funnelId,
      nodeId: kit.nodes.offerA,
      pageId: kit.offerIds[0] ?? null,
      eventKey: "",
      touchKind: "direct",
      conversions: 2,
      revenue: "7.5",
    });

    const list = await member.funnels.list.query({ workspaceId: wsId });
    expect(list.today).toBe(todayIn(h.a.workspace.timeZone));
    const row = list.items.find((f) => f.id === kit.funnelId);
    expect(row?.nodeCount).toBe(4);
    // A funnel's visits are its entrances (as in reports), not the sum of its page views.
    expect(row?.today).toEqual({ visits: 5, conversions: 2, revenue: "7.5" });

    const stats = await member.funnels.stats.query({
      workspaceId: wsId,
      funnelId: kit.funnelId,
      from: list.today,
      to: list.today,
    });
    expect(stats.nodes[kit.nodes.lander]).toEqual({ visits: 5, conversions: 0, revenue: "0" });
    expect(stats.nodes[kit.nodes.offerA]).toEqual({ visits: 3, conversions: 2, revenue: "7.5" });
    // Another day has none of it.
    const before = await member.funnels.stats.query({
      workspaceId: wsId,
      funnelId: kit.funnelId,
      from: "2020-01-01",
      to: "2020-01-02",
    });
    expect(before.nodes).toEqual({});
    await expectCode(
      member.funnels.stats.query({
        workspaceId: wsId,
        funnelId: kit.funnelId,
        from: list.today,
        to: "2020-01-01",
      }),
      "BAD_REQUEST",
      /^to: /,
    );
    // Workspace B's list knows nothing of A's numbers.
    const b = await h
      .client({ cookie: h.b.users.owner.cookie })
      .funnels.list.query({ workspaceId: h.b.workspace.id });
    expect(b.items.find((f) => f.id === h.b.kit.funnelId)?.today).toEqual({
      visits: 0,
      conversions: 0,
      revenue: "0",
    });
  });

  it("names nodes by their names in validation, never by the builder's keys", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const message = await expectCode(
      member.funnels.save.mutate({
        workspaceId: h.a.workspace.id,
        name: "Keys",
        entryNodeId: "new-mxcgqh63-0",
        nodes: [{ id: "new-mxcgqh63-0", name: "Traffic entry", config: { kind: "entry", routes: [] } }],
      }),
      "BAD_REQUEST",
      /node 'Traffic entry': has no route/,
    );
    expect(message).not.toContain("new-mxcgqh63-0");
  });

  it("records a saved or archived funnel's version in Redis before the save answers", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const wsId = h.a.workspace.id;
    const got = await member.funnels.get.query({ workspaceId: wsId, funnelId: h.a.kit.funnelId });
    const saved = await member.funnels.save.mutate({
      workspaceId: wsId,
      funnelId: got.id,
      name: got.name,
      entryNodeId: got.entryNodeId ?? "",
      nodes: got.nodes.map((n) => ({ id: n.id, name: n.name, config: n.config, position: n.position })),
      actions: got.actions,
    });
    expect(saved.version).toBe(got.version + 1);
    expect(await readFunnelVersion(h.redis, h.redisPrefix, wsId, got.id)).toBe(saved.version);
    const archived = await member.funnels.archive.mutate({ workspaceId: wsId, funnelId: got.id });
    expect(await readFunnelVersion(h.redis, h.redisPrefix, wsId, got.id)).toBe(archived.version);
    await member.funnels.archive.mutate({ workspaceId: wsId, funnelId: got.id, archived: false });
  });
});

describe("page edits reach the funnels that use them", () => {
  it("editing a lander bumps the version of the funnels sending to it, and says so in Redis", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const wsId = h.a.workspace.id;
    const before = await member.funnels.get.query({ workspaceId: wsId, funnelId: h.a.kit.funnelId });
    const otherBefore = await h
      .client({ cookie: h.b.users.owner.cookie })
      .funnels.get.query({ workspaceId: h.b.workspace.id, funnelId: h.b.kit.funnelId });
    await member.landers.update.mutate({
      workspaceId: wsId,
      landerId: h.a.kit.landerId,
      url: "https://pages.example/quiz-v3",
    });
    const after = await member.funnels.get.query({ workspaceId: wsId, funnelId: h.a.kit.funnelId });
    expect(after.version).toBe(before.version + 1);
    expect(await readFunnelVersion(h.redis, h.redisPrefix, wsId, h.a.kit.funnelId)).toBe(after.version);
    // Another workspace's funnel is not touched.
    const otherAfter = await h
      .client({ cookie: h.b.users.owner.cookie })
      .funnels.get.query({ workspaceId: h.b.workspace.id, funnelId: h.b.kit.funnelId });
    expect(otherAfter.version).toBe(otherBefore.version);
  });
});

describe("offer sources", () => {
  it("gives the postback URL to hand the network, as the offer codes build it", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const wsId = h.a.workspace.id;
    const source = await member.offerSources.create.mutate({
      workspaceId: wsId,
      name: `Net ${unique()}`,
      postbackTemplate: "https://DOMAIN/pb/?hit={sub1}&rev={payout}",
    });
    const codes = await member.trackingCodes.offerSource.query({
      workspaceId: wsId,
      offerSourceId: source.id,
    });
    expect(codes.postbackUrl).toBe(`http://${h.a.host}/pb/?hit={sub1}&rev={payout}`);
    await expectCode(
      h.client({ cookie: h.b.users.owner.cookie }).trackingCodes.offerSource.query({
        workspaceId: h.b.workspace.id,
        offerSourceId: source.id,
      }),
      "NOT_FOUND",
    );
  });
});
