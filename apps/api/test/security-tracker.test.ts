import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCode, type Harness, startHarness } from "./harness.ts";

// Issue 18 through tRPC over HTTP: URL templates refuse tokens in the scheme or host (point 13),
// amounts one conversion can carry are bounded (point 10), and the workspace's tag-conversion
// settings are saved and read back (points 1 and 12).

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("URL templates: no {token} in the scheme or host", () => {
  it("refuses https://{external}/land on offers, landers, traffic-source postbacks and external nodes", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const workspaceId = h.a.workspace.id;
    await expectCode(
      member.offers.create.mutate({ workspaceId, name: "O", url: "https://{external}/land" }),
      "BAD_REQUEST",
      /^url: a \{token\} may not be in the host/,
    );
    await expectCode(
      member.landers.create.mutate({ workspaceId, name: "L", url: "https://lp.{campaign}.example/" }),
      "BAD_REQUEST",
      /^url: a \{token\} may not be in the host/,
    );
    await expectCode(
      member.offers.update.mutate({
        workspaceId,
        offerId: h.a.kit.offerIds[0] ?? "",
        url: "{scheme}://o.example/",
      }),
      "BAD_REQUEST",
      /^url: a \{token\} may not stand for the scheme/,
    );
    await expectCode(
      member.trafficSources.create.mutate({
        workspaceId,
        name: "T",
        postbackUrl: "https://{external}/pb?x=1",
      }),
      "BAD_REQUEST",
      /^postbackUrl: a \{token\} may not be in the host/,
    );
    // Tokens after the host are what templates are for.
    const ok = await member.offers.create.mutate({
      workspaceId,
      name: "O",
      url: "https://o.example/land?id={external}&c={hit}",
    });
    expect(ok.url).toBe("https://o.example/land?id={external}&c={hit}");
  });
});

describe("money bounds", () => {
  it("refuses a default payout above the per-conversion maximum, and negative ones, naming it", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const workspaceId = h.a.workspace.id;
    await expectCode(
      member.offers.create.mutate({
        workspaceId,
        name: "O",
        url: "https://o.example/",
        defaultPayout: "999999999999",
      }),
      "BAD_REQUEST",
      /^defaultPayout: .*above the maximum of 1000000 per conversion/,
    );
    await expectCode(
      member.landers.create.mutate({
        workspaceId,
        name: "L",
        url: "https://l.example/",
        defaultPayout: "-2",
      }),
      "BAD_REQUEST",
      /^defaultPayout: .*negative/,
    );
    // A funnel action trigger's revenue: the same bound; -1 (delete) is the one negative allowed.
    const funnel = (revenue: string) =>
      member.funnels.save.mutate({
        workspaceId,
        name: "Triggers",
        entryNodeId: "entry",
        nodes: [
          { id: "entry", name: "Entry", config: { kind: "entry", routes: [{ to: "lp", weight: 1 }] } },
          {
            id: "lp",
            name: "Lander",
            config: { kind: "lander", pages: [{ pageId: h.a.kit.landerId, weight: 1 }] },
          },
          {
            id: "offer",
            name: "Offer",
            config: { kind: "offer", pages: [{ pageId: h.a.kit.offerIds[0], weight: 1 }] },
          },
        ],
        actions: [{ from: "lp", number: 1, to: "offer", triggers: { conversion: { revenue } } }],
      });
    await expectCode(funnel("999999999999"), "BAD_REQUEST", /above the maximum of 1000000 per conversion/);
    await expectCode(funnel("-5"), "BAD_REQUEST", /negative; the only negative value accepted is -1/);
    expect((await funnel("-1")).version).toBe(1);

    const max = await member.offers.create.mutate({
      workspaceId,
      name: "O",
      url: "https://o.example/",
      defaultPayout: "1000000",
    });
    expect(Number(max.defaultPayout)).toBe(1_000_000);
  });
});

describe("tag-conversion settings", () => {
  it("are on by default, saved by an admin, normalized, and refuse what is no host", async () => {
    const admin = h.client({ cookie: h.a.users.admin.cookie });
    const workspaceId = h.a.workspace.id;
    const before = await admin.workspaces.get.query({ workspaceId });
    expect(before).toMatchObject({
      tagConversions: true,
      tagAllowedOrigins: [],
      tagRevenue: true,
      tagConversionsPerHit: 10,
    });
    const saved = await admin.workspaces.update.mutate({
      workspaceId,
      tagConversions: true,
      tagAllowedOrigins: ["https://Shop.Example/", "*.brand.example"],
      tagRevenue: false,
      tagConversionsPerHit: 3,
    });
    expect(saved).toMatchObject({
      tagAllowedOrigins: ["shop.example", "*.brand.example"],
      tagRevenue: false,
      tagConversionsPerHit: 3,
    });
    await expectCode(
      admin.workspaces.update.mutate({ workspaceId, tagAllowedOrigins: ["not a host"] }),
      "BAD_REQUEST",
      /tagAllowedOrigins\[0\]: is not a host name/,
    );
    await expectCode(
      admin.workspaces.update.mutate({ workspaceId, tagConversionsPerHit: 0 }),
      "BAD_REQUEST",
      /tagConversionsPerHit: must be at least 1/,
    );
    await expectCode(
      h
        .client({ cookie: h.a.users.member.cookie })
        .workspaces.update.mutate({ workspaceId, tagConversions: false }),
      "FORBIDDEN",
    );
  });
});
