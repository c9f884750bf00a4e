import { randomBytes } from "node:crypto";
import { eq, schema } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCode, type Harness, startHarness } from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const unique = () => randomBytes(4).toString("hex");
const tlsAsk = async (host: string) => (await fetch(`${h.base}/internal/tls/ask?domain=${host}`)).status;

describe("domains", () => {
  it("adds a custom domain unverified, verifies it by DNS TXT, and only then routes it", async () => {
    const admin = h.client({ cookie: h.a.users.admin.cookie });
    const wsId = h.a.workspace.id;
    const host = `Track-${unique()}.Client.example`;
    const added = await admin.domains.add.mutate({ workspaceId: wsId, host: `https://${host}/` });
    const canonical = host.toLowerCase();
    expect(added).toMatchObject({ host: canonical, kind: "custom", verified: false });
    expect(added.verification?.txtName).toBe(`_hitrail.${canonical}`);
    expect(await tlsAsk(canonical)).toBe(404);

    const failed = await admin.domains.verify.mutate({
      workspaceId: wsId,
      domainId: added.id,
      methods: ["dns"],
    });
    expect(failed).toMatchObject({ verified: false, checks: [{ method: "dns", ok: false }] });
    expect(await tlsAsk(canonical)).toBe(404);

    h.world.txt.set(`_hitrail.${canonical}`, [["some-other-record"], [added.verification?.txtValue ?? ""]]);
    const ok = await admin.domains.verify.mutate({ workspaceId: wsId, domainId: added.id });
    expect(ok).toMatchObject({ verified: true, domain: { verified: true, verification: null } });
    expect(await tlsAsk(canonical)).toBe(200);

    const codes = await h
      .client({ cookie: h.a.users.viewer.cookie })
      .trackingCodes.get.query({ workspaceId: wsId, domainId: added.id });
    expect(codes.postback.hit).toBe(`http://${canonical}/pb/?hit=REPLACE&tx=REPLACE&rev=REPLACE`);
  });

  it("verifies by the HTTP token the tracker serves", async () => {
    const admin = h.client({ cookie: h.a.users.admin.cookie });
    const added = await admin.domains.add.mutate({
      workspaceId: h.a.workspace.id,
      host: `http-${unique()}.example.org`,
    });
    const url = added.verification?.httpUrl ?? "";
    expect(url).toBe(`http://${added.host}/.well-known/hitrail/${added.verification?.txtValue}`);
    h.world.http.set(url, { status: 200, body: `${added.verification?.txtValue}\n` });
    const result = await admin.domains.verify.mutate({
      workspaceId: h.a.workspace.id,
      domainId: added.id,
      methods: ["http"],
    });
    expect(result).toMatchObject({ verified: true, checks: [{ method: "http", ok: true }] });
  });

  it("refuses names under the base domain, IPs and junk, and never removes the default domain", async () => {
    const admin = h.client({ cookie: h.a.users.admin.cookie });
    const wsId = h.a.workspace.id;
    await expectCode(
      admin.domains.add.mutate({ workspaceId: wsId, host: "evil.test.localhost" }),
      "BAD_REQUEST",
      /^host: .*default domains/,
    );
    await expectCode(
      admin.domains.add.mutate({ workspaceId: wsId, host: "10.0.0.1" }),
      "BAD_REQUEST",
      /^host: /,
    );
    await expectCode(
      admin.domains.add.mutate({ workspaceId: wsId, host: "no spaces.example" }),
      "BAD_REQUEST",
      /^host: /,
    );
    await expectCode(admin.domains.add.mutate({ workspaceId: wsId, host: h.a.host }), "BAD_REQUEST");
    // An unverified claim blocks nobody (domain-claims.test.ts); the same workspace claims a host once.
    const claimed = await admin.domains.add.mutate({
      workspaceId: wsId,
      host: `dup-${unique()}.example.org`,
    });
    await expectCode(
      admin.domains.add.mutate({ workspaceId: wsId, host: claimed.host }),
      "CONFLICT",
      /already added/,
    );
    await expectCode(
      admin.domains.remove.mutate({ workspaceId: wsId, domainId: h.a.defaultDomainId }),
      "BAD_REQUEST",
      /default domain/,
    );
  });
});

describe("campaign objects", () => {
  it("creates traffic sources from a template and refuses colliding or reserved parameters by field", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const wsId = h.a.workspace.id;
    const templates = await member.trafficSources.templates.query();
    expect(templates.map((t) => t.key)).toEqual(
      expect.arrayContaining([
        "propellerads",
        "zeropark",
        "trafficjunky",
        "exoclick",
        "google_ads",
        "facebook",
        "tiktok",
      ]),
    );
    const zeropark = templates.find((t) => t.key === "zeropark");
    if (!zeropark) throw new Error("no zeropark template");
    const created = await member.trafficSources.create.mutate({
      workspaceId: wsId,
      name: "Zeropark",
      postbackUrl: zeropark.postbackUrl,
      externalParam: zeropark.externalParam,
      campaignParam: zeropark.campaignParam,
      costParam: zeropark.costParam,
      trackingFields: zeropark.trackingFields,
    });
    expect(created).toMatchObject({
      externalParam: "cid",
      trackingFields: [{ name: "target", param: "target", macro: "{target}" }, {}, {}],
    });

    await expectCode(
      member.trafficSources.create.mutate({ workspaceId: wsId, name: "X", externalParam: "cost" }),
      "BAD_REQUEST",
      /costParam: parameter 'cost' is already used by externalParam/,
    );
    await expectCode(
      member.trafficSources.create.mutate({
        workspaceId: wsId,
        name: "X",
        trackingFields: [{ name: "hit", param: "h" }],
      }),
      "BAD_REQUEST",
      /^trackingFields\[0\]\.name: /,
    );
    await expectCode(
      member.trafficSources.create.mutate({ workspaceId: wsId, name: "X", postbackUrl: "ftp://nope" }),
      "BAD_REQUEST",
      /^postbackUrl: /,
    );
    await expectCode(
      member.trafficSources.update.mutate({
        workspaceId: wsId,
        trafficSourceId: created.id,
        trackingFields: [{ name: "a", param: "cid" }],
      }),
      "BAD_REQUEST",
      /trackingFields\[0\]\.param: parameter 'cid' is already used by externalParam/,
    );
  });

  it("creates offer sources with status maps from core's templates", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const templates = await member.offerSources.templates.query();
    expect(templates.map((t) => t.key)).toEqual(
      expect.arrayContaining(["maxbounty", "clickbank", "affise", "everflow", "cake", "tune"]),
    );
    expect(templates.find((t) => t.key === "affise")?.statusMap).toMatchObject({ "3": "rejected" });
    const source = await member.offerSources.create.mutate({
      workspaceId: h.a.workspace.id,
      name: "Affise",
      clickIdParam: "sub1",
      statusMapTemplate: "affise",
    });
    expect(source.statusMap).toMatchObject({ "1": "approved", "2": "pending", declined: "rejected" });
    await expectCode(
      member.offerSources.create.mutate({
        workspaceId: h.a.workspace.id,
        name: "X",
        statusMap: { Sale: "approved", sale: "rejected" },
      }),
      "BAD_REQUEST",
      /statusMap: status words 'Sale' and 'sale' are the same word/,
    );
  });

  it("keeps objects to their workspace: lists, offer sources of offers, archive", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const wsId = h.a.workspace.id;
    const offers = await member.offers.list.query({ workspaceId: wsId });
    expect(offers.items.length).toBeGreaterThan(0);
    expect(offers.items.map((o) => o.id)).not.toContain(h.b.kit.offerIds[0]);
    await expectCode(
      member.offers.update.mutate({
        workspaceId: wsId,
        offerId: h.a.kit.offerIds[0],
        offerSourceId: h.b.kit.offerSourceId,
      }),
      "NOT_FOUND",
      /offerSourceId: offer source not found/,
    );
    await expectCode(
      member.offers.create.mutate({
        workspaceId: wsId,
        name: "X",
        url: "https://o.example",
        defaultPayout: "-3",
      }),
      "BAD_REQUEST",
      /^defaultPayout: /,
    );
    const offer = await member.offers.create.mutate({
      workspaceId: wsId,
      name: "Temp",
      url: "https://o.example/?c={hit}",
      defaultPayout: 7.5,
    });
    expect(offer.defaultPayout).toBe("7.500000");
    await member.offers.archive.mutate({ workspaceId: wsId, offerId: offer.id });
    expect((await member.offers.list.query({ workspaceId: wsId })).items.map((o) => o.id)).not.toContain(
      offer.id,
    );
    expect(
      (await member.offers.list.query({ workspaceId: wsId, includeArchived: true })).items.map((o) => o.id),
    ).toContain(offer.id);

    const [auditRow] = await h.t.db
      .select()
      .from(schema.auditLog)
      .where(eq(schema.auditLog.entityId, offer.id));
    expect(auditRow).toMatchObject({ workspaceId: wsId, actorUserId: h.a.users.member.id, entity: "offer" });
  });

  it("refuses a second live event type with the same alias, and the built-in one", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    await expectCode(
      member.eventTypes.create.mutate({ workspaceId: h.a.workspace.id, name: "Lead again", alias: "LEAD" }),
      "CONFLICT",
      /^alias: /,
    );
    await expectCode(
      member.eventTypes.create.mutate({ workspaceId: h.a.workspace.id, name: "C", alias: "conversion" }),
      "BAD_REQUEST",
      /^alias: /,
    );
  });
});

describe("funnels", () => {
  const pagesOf = () => ({ lander: h.a.kit.landerId, offer: h.a.kit.offerIds[0] });

  it("saves a graph with rotator and condition nodes, maps client keys to ids, and keeps ids on update", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const wsId = h.a.workspace.id;
    const p = pagesOf();
    const saved = await member.funnels.save.mutate({
      workspaceId: wsId,
      name: "Geo split",
      entryNodeId: "entry",
      nodes: [
        { id: "entry", name: "Entry", config: { kind: "entry", routes: [{ to: "geo", weight: 1 }] } },
        {
          id: "geo",
          name: "Geo",
          config: {
            kind: "condition",
            routes: [
              { match: "all", rules: [{ field: "country", op: "in", values: ["US", "CA"] }], to: "rot" },
            ],
            defaultTo: "lp",
          },
        },
        {
          id: "rot",
          name: "Rotator",
          config: {
            kind: "rotator",
            routes: [
              { to: "lp", weight: 70 },
              { to: "offer", weight: 30 },
            ],
          },
        },
        { id: "lp", name: "Lander", config: { kind: "lander", pages: [{ pageId: p.lander, weight: 1 }] } },
        {
          id: "offer",
          name: "Offer",
          config: { kind: "offer", pages: [{ pageId: p.offer ?? "", weight: 1 }] },
        },
      ],
      actions: [
        {
          from: "lp",
          number: 1,
          to: "offer",
          triggers: { events: [{ eventTypeId: h.a.eventTypeId, revenue: "0.5" }] },
        },
      ],
    });
    expect(Object.keys(saved.nodeIds).sort()).toEqual(["entry", "geo", "lp", "offer", "rot"]);
    expect(saved.version).toBe(1);

    const got = await member.funnels.get.query({ workspaceId: wsId, funnelId: saved.funnelId });
    expect(got.entryNodeId).toBe(saved.nodeIds.entry);
    const geo = got.nodes.find((n) => n.id === saved.nodeIds.geo);
    expect(geo?.config).toMatchObject({ kind: "condition", defaultTo: saved.nodeIds.lp });
    expect(got.actions).toMatchObject([{ from: saved.nodeIds.lp, number: 1, to: saved.nodeIds.offer }]);

    // Saving again under the stored ids keeps them, and bumps the version trackers watch.
    const again = await member.funnels.save.mutate({
      workspaceId: wsId,
      funnelId: saved.funnelId,
      name: "Geo split v2",
      entryNodeId: got.entryNodeId ?? "",
      nodes: got.nodes.map((n) => ({ id: n.id, name: n.name, config: n.config, position: n.position })),
      actions: got.actions,
    });
    expect(again.version).toBe(2);
    expect(Object.entries(again.nodeIds).every(([k, v]) => k === v)).toBe(true);
  });

  it("refuses a funnel that would strand a visitor, naming the node", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const wsId = h.a.workspace.id;
    const p = pagesOf();
    const entry = {
      id: "entry",
      name: "Entry",
      config: { kind: "entry" as const, routes: [{ to: "lp", weight: 1 }] },
    };
    const lp = {
      id: "lp",
      name: "Quiz",
      config: { kind: "lander" as const, pages: [{ pageId: p.lander, weight: 1 }] },
    };

    await expectCode(
      member.funnels.save.mutate({
        workspaceId: wsId,
        name: "Dangling",
        entryNodeId: "entry",
        nodes: [entry, lp],
        actions: [{ from: "lp", number: 1, to: "nowhere" }],
      }),
      "BAD_REQUEST",
      /node 'Quiz': action 1 leads to missing node nowhere/,
    );
    await expectCode(
      member.funnels.save.mutate({
        workspaceId: wsId,
        name: "Empty lander",
        entryNodeId: "entry",
        nodes: [entry, { id: "lp", name: "Quiz", config: { kind: "lander", pages: [] } }],
      }),
      "BAD_REQUEST",
      /node 'Quiz': lander node has no page/,
    );
    await expectCode(
      member.funnels.save.mutate({
        workspaceId: wsId,
        name: "Foreign page",
        entryNodeId: "entry",
        nodes: [
          entry,
          {
            id: "lp",
            name: "Quiz",
            config: { kind: "lander", pages: [{ pageId: h.b.kit.landerId, weight: 1 }] },
          },
        ],
      }),
      "BAD_REQUEST",
      /node 'Quiz': page 1 is not a lander of this workspace/,
    );
    await expectCode(
      member.funnels.save.mutate({
        workspaceId: wsId,
        name: "Offer as lander",
        entryNodeId: "entry",
        nodes: [
          entry,
          {
            id: "lp",
            name: "Quiz",
            config: { kind: "lander", pages: [{ pageId: p.offer ?? "", weight: 1 }] },
          },
        ],
      }),
      "BAD_REQUEST",
      /node 'Quiz': page 1 \('[^']+'\) is an offer, not a lander/,
    );
    await expectCode(
      member.funnels.save.mutate({
        workspaceId: wsId,
        name: "Loop",
        entryNodeId: "entry",
        nodes: [
          { id: "entry", name: "Entry", config: { kind: "entry", routes: [{ to: "r1", weight: 1 }] } },
          { id: "r1", name: "R1", config: { kind: "rotator", routes: [{ to: "r2", weight: 1 }] } },
          { id: "r2", name: "R2", config: { kind: "rotator", routes: [{ to: "r1", weight: 1 }] } },
        ],
      }),
      "BAD_REQUEST",
      /routing loop/,
    );
    await expectCode(
      member.funnels.save.mutate({
        workspaceId: wsId,
        name: "Bad weight",
        entryNodeId: "entry",
        nodes: [{ ...entry, config: { kind: "entry", routes: [{ to: "lp", weight: -1 }] } }, lp],
      }),
      "BAD_REQUEST",
      /^nodes\[0\]\.config\.routes\[0\]\.weight: /,
    );
    const funnels = await member.funnels.list.query({ workspaceId: wsId, search: "Dangling" });
    expect(funnels.items).toHaveLength(0);
  });
});

describe("tracking codes", () => {
  it("gives the global postback URL in every form, with the workspace key for members", async () => {
    const wsId = h.a.workspace.id;
    const origin = `http://${h.a.host}`;
    const viewer = h.client({ cookie: h.a.users.viewer.cookie });
    const codes = await viewer.trackingCodes.get.query({ workspaceId: wsId });
    expect(codes.postback).toEqual({
      hit: `${origin}/pb/?hit=REPLACE&tx=REPLACE&rev=REPLACE`,
      hitWithStatus: `${origin}/pb/?hit=REPLACE&tx=REPLACE&rev=REPLACE&status=REPLACE`,
      hitWithoutTrafficSourcePostback: `${origin}/pb/?hit=REPLACE&tx=REPLACE&rev=REPLACE&disable_postbacks=true`,
      vid: `${origin}/pb/?vid=REPLACE&p=REPLACE&tx=REPLACE&rev=REPLACE`,
      vidWithStatus: `${origin}/pb/?vid=REPLACE&p=REPLACE&tx=REPLACE&rev=REPLACE&status=REPLACE`,
      vidWithoutTrafficSourcePostback: `${origin}/pb/?vid=REPLACE&p=REPLACE&tx=REPLACE&rev=REPLACE&disable_postbacks=true`,
    });
    expect(codes.universalTag).toBe(`<script src="${origin}/tag.js" async></script>`);

    await h
      .client({ cookie: h.a.users.admin.cookie })
      .workspaces.setPostbackSecret.mutate({ workspaceId: wsId, secret: "s3cret-s3cret-s3cret" });
    const asMember = await h
      .client({ cookie: h.a.users.member.cookie })
      .trackingCodes.get.query({ workspaceId: wsId });
    expect(asMember.postback.hit).toBe(
      `${origin}/pb/?hit=REPLACE&tx=REPLACE&rev=REPLACE&key=s3cret-s3cret-s3cret`,
    );
    expect((await viewer.trackingCodes.get.query({ workspaceId: wsId })).postback.hit).toMatch(
      /&key=YOUR_POSTBACK_SECRET$/,
    );
    await h
      .client({ cookie: h.a.users.admin.cookie })
      .workspaces.setPostbackSecret.mutate({ workspaceId: wsId, secret: null });
  });

  it("builds entrance links from the source's own parameters and macros, never a look-alike template's", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const wsId = h.a.workspace.id;
    const source = await member.trafficSources.create.mutate({
      workspaceId: wsId,
      name: "PropellerAds",
      externalParam: "subid",
      externalMacro: `\${SUBID}`,
      campaignParam: "campaignid",
      campaignMacro: `\${CAMPAIGNID}`,
      costMacro: "",
      trackingFields: [
        { name: "zoneid", param: "zoneid", macro: `\${ZONEID}` },
        { name: "custom", param: "c1" },
      ],
    });
    const link = await member.trackingCodes.entranceLink.query({
      workspaceId: wsId,
      funnelId: h.a.kit.funnelId,
      trafficSourceId: source.id,
    });
    expect(link.url).toBe(
      `http://${h.a.host}/fts/${h.a.kit.funnelId}?ts=${source.id}&subid=\${SUBID}&campaignid=\${CAMPAIGNID}&zoneid=\${ZONEID}&c1=REPLACE`,
    );
    expect(link.placeholders).toEqual(["c1"]);

    // Issue 22: a Custom source reading its click ID from `clickid` (as ExoClick does) got ExoClick's
    // macros and lost its cost parameter. Its own (unknown) macros are placeholders instead.
    const custom = await member.trafficSources.create.mutate({
      workspaceId: wsId,
      name: "My network",
      externalParam: "clickid",
      costParam: "cpc",
    });
    const customLink = await member.trackingCodes.entranceLink.query({
      workspaceId: wsId,
      funnelId: h.a.kit.funnelId,
      trafficSourceId: custom.id,
    });
    expect(customLink.url).toBe(
      `http://${h.a.host}/fts/${h.a.kit.funnelId}?ts=${custom.id}&clickid=REPLACE&cpc=REPLACE`,
    );
    expect(customLink.placeholders).toEqual(["clickid", "cpc"]);

    // Macros given with the request win over the source's.
    const plain = await member.trackingCodes.entranceLink.query({
      workspaceId: wsId,
      funnelId: h.a.kit.funnelId,
      trafficSourceId: h.a.kit.trafficSourceId,
      macros: { external: "{clickid}", cost: "{cpc}", fields: { zone: "{zone}" } },
    });
    expect(plain.url).toBe(
      `http://${h.a.host}/fts/${h.a.kit.funnelId}?ts=${h.a.kit.trafficSourceId}&external={clickid}&cost={cpc}&zone={zone}&creative=REPLACE`,
    );
  });

  it("shows the offer URL exactly as sent, says when it does not pass {hit} where the network returns it", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const wsId = h.a.workspace.id;
    const network = await member.offerSources.create.mutate({
      workspaceId: wsId,
      name: "MaxBounty",
      clickIdParam: "s2",
      postbackTemplate: "https://DOMAIN/pb/?hit=#S2#&tx=#LEADID#&rev=#RATE#",
    });
    const offer = await member.offers.create.mutate({
      workspaceId: wsId,
      name: "Sweeps",
      url: "https://mb.example/lnk?o=12#top",
      offerSourceId: network.id,
    });
    const codes = await member.trackingCodes.offer.query({ workspaceId: wsId, offerId: offer.id });
    // As sent: the redirect adds the visitor ID (before the fragment).
    expect(codes.offerUrl).toBe("https://mb.example/lnk?o=12&vid={vid}#top");
    expect(codes.hitParams).toEqual([]);
    expect(codes.hitProblem).toMatch(/MaxBounty returns the hit from 's2'.*add &s2=\{hit\}/);
    expect(codes.suggestedOfferUrl).toBe("https://mb.example/lnk?o=12&s2={hit}#top");
    await member.offers.update.mutate({
      workspaceId: wsId,
      offerId: offer.id,
      url: codes.suggestedOfferUrl ?? "",
    });
    const fixed = await member.trackingCodes.offer.query({ workspaceId: wsId, offerId: offer.id });
    expect(fixed).toMatchObject({
      offerUrl: "https://mb.example/lnk?o=12&s2={hit}&vid={vid}#top",
      hitParams: ["s2"],
      hitProblem: null,
      suggestedOfferUrl: null,
    });
    expect(codes.postbackUrl).toBe(`http://${h.a.host}/pb/?hit=#S2#&tx=#LEADID#&rev=#RATE#`);
    expect(codes.conversionSnippet).toContain(`<script src="http://${h.a.host}/tag.js" async></script>`);
    expect(codes.conversionSnippet).toContain(`flux.track("conversion", {rev: "", p: "${offer.id}"})`);

    const tag = await member.trackingCodes.pageTag.query({
      workspaceId: wsId,
      funnelId: h.a.kit.funnelId,
      nodeId: h.a.kit.nodes.lander,
      pageId: h.a.kit.landerId,
    });
    expect(tag.snippet).toContain(
      `<script src="http://${h.a.host}/tag.js" data-funnel="${h.a.kit.funnelId}" data-node="${h.a.kit.nodes.lander}" data-page="${h.a.kit.landerId}" async></script>`,
    );
    await expectCode(
      member.trackingCodes.pageTag.query({
        workspaceId: wsId,
        funnelId: h.a.kit.funnelId,
        nodeId: h.a.kit.nodes.lander,
        pageId: h.a.kit.offerIds[0],
      }),
      "NOT_FOUND",
    );
  });
});
