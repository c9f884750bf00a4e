import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCode, type Harness, startHarness } from "./harness.ts";

// Seed: the visitor ID is added "automatically to redirect destinations". The parameter's name is a
// workspace setting, and an offer may opt out for a network that refuses unknown parameters.

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
