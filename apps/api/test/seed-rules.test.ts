import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCode, type Harness, startHarness } from "./harness.ts";

// Issue 23's seed rules through tRPC over HTTP. The visitor ID is added "automatically to redirect
// destinations": the parameter's name is a workspace setting, and an offer may opt out for a network
// that refuses unknown parameters. On-action triggers count once per visitor session and action
// unless one is set to "every time".

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("the visitor-ID parameter", () => {
  it("is `vid` by default, renamed by an admin, refused when it is no usable name, and per workspace", async () => {
    const admin = h.client({ cookie: h.a.users.admin.cookie });
    const workspaceId = h.a.workspace.id;
    expect((await admin.workspaces.get.query({ workspaceId })).visitorIdParam).toBe("vid");
    const saved = await admin.workspaces.update.mutate({ workspaceId, visitorIdParam: " fvid " });
    expect(saved.visitorIdParam).toBe("fvid");
    await expectCode(
      admin.workspaces.update.mutate({ workspaceId, visitorIdParam: "v id" }),
      "BAD_REQUEST",
      /^visitorIdParam: may only contain letters, digits/,
    );
    await expectCode(
      admin.workspaces.update.mutate({ workspaceId, visitorIdParam: "hit" }),
      "BAD_REQUEST",
      /^visitorIdParam: 'hit' is used by the tag itself/,
    );
    await expectCode(
      h
        .client({ cookie: h.a.users.member.cookie })
        .workspaces.update.mutate({ workspaceId, visitorIdParam: "x" }),
      "FORBIDDEN",
    );
    expect((await admin.workspaces.get.query({ workspaceId })).visitorIdParam).toBe("fvid");
    const other = h.client({ cookie: h.b.users.owner.cookie });
    expect((await other.workspaces.get.query({ workspaceId: h.b.workspace.id })).visitorIdParam).toBe("vid");
  });

  it("goes on every offer unless the offer opts out, set on create and update", async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const workspaceId = h.a.workspace.id;
    const plain = await member.offers.create.mutate({ workspaceId, name: "P", url: "https://o.example/" });
    expect(plain.passVisitorId).toBe(true);
    const strict = await member.offers.create.mutate({
      workspaceId,
      name: "Strict network",
      url: "https://strict.example/?c={hit}",
      passVisitorId: false,
    });
    expect(strict.passVisitorId).toBe(false);
    const back = await member.offers.update.mutate({ workspaceId, offerId: strict.id, passVisitorId: true });
    expect(back).toMatchObject({ passVisitorId: true, name: "Strict network" });
    await expectCode(
      member.offers.update.mutate({
        workspaceId,
        offerId: plain.id,
        passVisitorId: "no" as unknown as boolean,
      }),
      "BAD_REQUEST",
      /^passVisitorId: /,
    );
  });
});

describe("on-action triggers", () => {
  it('save and read back each trigger\'s "every time" switch; a negative revenue other than -1 names the ways to reverse', async () => {
    const member = h.client({ cookie: h.a.users.member.cookie });
    const workspaceId = h.a.workspace.id;
    const save = (triggers: Record<string, unknown>) =>
      member.funnels.save.mutate({
        workspaceId,
        name: "Every time",
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
        actions: [{ from: "lp", number: 1, to: "offer", triggers }],
      });
    const triggers = {
      conversion: { revenue: "2", everyTime: false },
      events: [{ eventTypeId: h.a.eventTypeId, everyTime: true }],
    };
    const saved = await save(triggers);
    const funnel = await member.funnels.get.query({ workspaceId, funnelId: saved.funnelId });
    expect(funnel.actions.map((a) => a.triggers)).toEqual([
      {
        conversion: { revenue: "2", everyTime: false },
        events: [{ eventTypeId: h.a.eventTypeId, everyTime: true }],
      },
    ]);
    await expectCode(save({ conversion: { everyTime: "yes" } }), "BAD_REQUEST", /everyTime: /);
    await expectCode(
      save({ conversion: { revenue: "-5" } }),
      "BAD_REQUEST",
      /is negative; the only negative value accepted is -1, which deletes the conversion\. To reverse a conversion send status=rejected/,
    );
  });
});
