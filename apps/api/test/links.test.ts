import { count, eq, schema } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCode, type Harness, startHarness } from "./harness.ts";

// Issue 22, "what a user copies must work as copied": every link carries the public port, every
// lander shows its action links and page tag, and a mistyped {macro} is refused with the name meant.

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ publicPort: 8080 });
});
afterAll(async () => {
  await h?.close();
});

describe("the public origin of links", () => {
  it("carries PUBLIC_PORT in every link the tracking codes show", async () => {
    const viewer = h.client({ cookie: h.a.users.viewer.cookie });
    const wsId = h.a.workspace.id;
    const origin = `http://${h.a.host}:8080`;
    const codes = await viewer.trackingCodes.get.query({ workspaceId: wsId });
    expect(codes.postback.hit).toBe(`${origin}/pb/?hit=REPLACE&tx=REPLACE&rev=REPLACE`);
    expect(codes.universalTag).toBe(`<script src="${origin}/tag.js" async></script>`);
    const link = await viewer.trackingCodes.entranceLink.query({
      workspaceId: wsId,
      funnelId: h.a.kit.funnelId,
      trafficSourceId: h.a.kit.trafficSourceId,
    });
    expect(link.url.startsWith(`${origin}/fts/${h.a.kit.funnelId}?ts=`)).toBe(true);
    const offer = await viewer.trackingCodes.offer.query({ workspaceId: wsId, offerId: h.a.kit.offerIds[0] });
    expect(offer.conversionSnippet).toContain(`${origin}/tag.js`);
  });
});

describe("a funnel's page codes", () => {
  it("lists each lander's action links, one per action, and every page's tag", async () => {
    const viewer = h.client({ cookie: h.a.users.viewer.cookie });
    const origin = `http://${h.a.host}:8080`;
    const { kit } = h.a;
    const codes = await viewer.trackingCodes.funnelPages.query({
      workspaceId: h.a.workspace.id,
      funnelId: kit.funnelId,
    });
    const lander = codes.nodes.find((n) => n.nodeId === kit.nodes.lander);
    expect(lander?.kind).toBe("lander");
    expect(lander?.actions).toEqual([
      {
        number: 1,
        to: "Offer A",
        url: `${origin}/action/1`,
        urlWithVisitor: `${origin}/action/1?vid=REPLACE`,
      },
      {
        number: 2,
        to: "Offer B",
        url: `${origin}/action/2`,
        urlWithVisitor: `${origin}/action/2?vid=REPLACE`,
      },
    ]);
    expect(lander?.pages).toHaveLength(1);
    expect(lander?.pages[0]?.pageTag).toContain(
      `<script src="${origin}/tag.js" data-funnel="${kit.funnelId}" data-node="${kit.nodes.lander}" data-page="${kit.landerId}" async></script>`,
    );
    const offers = codes.nodes.filter((n) => n.kind === "offer");
    expect(offers.map((o) => o.pages[0]?.pageId).sort()).toEqual([...kit.offerIds].sort());
    expect(offers.every((o) => o.actions.length === 0)).toBe(true);
    // The entry node has no page, so no codes.
    expect(codes.nodes.some((n) => n.nodeId === kit.nodes.entry)).toBe(false);
  });

  it("does not show another workspace's funnel", async () => {
    await expectCode(
      h.client({ cookie: h.b.users.owner.cookie }).trackingCodes.funnelPages.query({
        workspaceId: h.b.workspace.id,
        funnelId: h.a.kit.funnelId,
      }),
      "NOT_FOUND",
    );
  });
});

describe("macros in URL fields", () => {
  const offerCount = async (workspaceId: string) => {
    const [row] = await h.t.db
      .select({ n: count() })
      .from(schema.offers)
      .where(eq(schema.offers.workspaceId, workspaceId));
    return row?.n ?? 0;
  };

  it("refuses an unknown macro in an offer or lander URL, suggesting the nearest name, and writes nothing", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const wsId = h.a.workspace.id;
    const before = await offerCount(wsId);
    await expectCode(
      member.offers.create.mutate({ workspaceId: wsId, name: "Typo", url: "https://o.example/?c={hti}" }),
      "BAD_REQUEST",
      /^Offer URL: \{hti\} is not a known macro: did you mean \{hit\}\?$/,
    );
    expect(await offerCount(wsId)).toBe(before);
    await expectCode(
      member.landers.create.mutate({ workspaceId: wsId, name: "Typo", url: "https://l.example/?v={vdi}" }),
      "BAD_REQUEST",
      /^Lander URL: \{vdi\} is not a known macro: did you mean \{vid\}\?$/,
    );
    const lander = await member.landers.create.mutate({
      workspaceId: wsId,
      name: "Fine",
      // Built-in macros in any case, and the workspace's tracking fields (the kit's source has `zone`).
      url: "https://l.example/?h={HIT}&z={zone}&c={country}",
    });
    await expectCode(
      member.landers.update.mutate({
        workspaceId: wsId,
        landerId: lander.id,
        url: "https://l.example/?p={payout}",
      }),
      "BAD_REQUEST",
      /^Lander URL: \{payout\} is not a known macro; known macros: \{hit\}, \{vid\}/,
    );
    const [row] = await h.t.db.select().from(schema.landers).where(eq(schema.landers.id, lander.id));
    expect(row?.url).toBe("https://l.example/?h={HIT}&z={zone}&c={country}");
  });

  it("knows only the workspace's own tracking fields", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    await member.trafficSources.create.mutate({
      workspaceId: h.a.workspace.id,
      name: "Zone network",
      trackingFields: [{ name: "zoneid_a", param: "zid" }],
    });
    await member.offers.create.mutate({
      workspaceId: h.a.workspace.id,
      name: "Zoned",
      url: "https://o.example/?z={zoneid_a}",
    });
    const owner = h.client({ cookie: h.b.users.owner.cookie });
    await expectCode(
      owner.offers.create.mutate({
        workspaceId: h.b.workspace.id,
        name: "Z",
        url: "https://o.example/?z={zoneid_a}",
      }),
      "BAD_REQUEST",
      /\{zoneid_a\} is not a known macro/,
    );
    const listA = await member.trackingCodes.macros.query({ workspaceId: h.a.workspace.id });
    const listB = await owner.trackingCodes.macros.query({ workspaceId: h.b.workspace.id });
    expect(listA.page.map((m) => m.name)).toContain("zoneid_a");
    expect(listB.page.map((m) => m.name)).not.toContain("zoneid_a");
    expect(listA.page.find((m) => m.name === "zoneid_a")?.description).toBe("tracking field of Zone network");
    expect(listA.trafficSourcePostback.map((m) => m.name)).toContain("payout");
    expect(listA.offerSourcePostback.map((m) => m.name)).toEqual(
      expect.arrayContaining(["hit", "vid", "p", "tx", "rev", "status"]),
    );
  });

  it("checks a traffic source's postback URL against postback macros and its own tracking fields", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const wsId = h.a.workspace.id;
    await expectCode(
      member.trafficSources.create.mutate({
        workspaceId: wsId,
        name: "Typo source",
        postbackUrl: "https://ads.example/pb?cid={external}&p={payot}",
      }),
      "BAD_REQUEST",
      /^Postback URL: \{payot\} is not a known macro: did you mean \{payout\}\?$/,
    );
    // The network's own macros on the entrance link are the network's: never checked.
    const source = await member.trafficSources.create.mutate({
      workspaceId: wsId,
      name: "Good source",
      postbackUrl: "https://ads.example/pb?cid={external}&p={payout}&z={zone}&cur={currency}",
      externalMacro: `\${SUBID}`,
      trackingFields: [{ name: "zone", param: "zone", macro: "{{placement}}" }],
    });
    await expectCode(
      member.trafficSources.update.mutate({
        workspaceId: wsId,
        trafficSourceId: source.id,
        trackingFields: [],
      }),
      "BAD_REQUEST",
      /^Postback URL: \{zone\} is not a known macro/,
    );
    await expectCode(
      member.trafficSources.update.mutate({
        workspaceId: wsId,
        trafficSourceId: source.id,
        postbackUrl: "https://ads.example/pb?cid={extrenal}",
      }),
      "BAD_REQUEST",
      /did you mean \{external\}\?/,
    );
    const [row] = await h.t.db
      .select()
      .from(schema.trafficSources)
      .where(eq(schema.trafficSources.id, source.id));
    expect(row?.postbackUrl).toBe("https://ads.example/pb?cid={external}&p={payout}&z={zone}&cur={currency}");
  });

  it("checks the /pb/ parameters of an offer source's template, not the network's macros", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const wsId = h.a.workspace.id;
    await expectCode(
      member.offerSources.create.mutate({
        workspaceId: wsId,
        name: "Typo network",
        postbackTemplate: "https://DOMAIN/pb/?htt={sub1}&rev={sum}",
      }),
      "BAD_REQUEST",
      /^Postback template: parameter 'htt' is not read by the postback endpoint: did you mean 'hit'\?$/,
    );
    const network = await member.offerSources.create.mutate({
      workspaceId: wsId,
      name: "Affise-like",
      statusParam: "state",
      postbackTemplate: "https://DOMAIN/pb/?hit={sub1}&tx={transactionid}&rev={sum}&state={status}",
    });
    await expectCode(
      member.offerSources.update.mutate({
        workspaceId: wsId,
        offerSourceId: network.id,
        statusParam: "status",
      }),
      "BAD_REQUEST",
      /parameter 'state' is not read/,
    );
    await member.offerSources.update.mutate({
      workspaceId: wsId,
      offerSourceId: network.id,
      postbackTemplate: "https://DOMAIN/pb/?hit=#s2#&tx=#leadid#&rev=#price#",
    });
  });
});
