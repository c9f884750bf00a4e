import { schema } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";

let h: TrackerHarness;
beforeAll(async () => {
  h = await createTrackerHarness();
});
afterAll(async () => {
  await h?.close();
});

const get = (host: string, url: string) => h.app.inject({ method: "GET", url, headers: { host } });

describe("/.well-known/hitrail/<token>: HTTP domain verification", () => {
  it("serves a pending custom domain's token on that host only, and routes nothing else for it", async () => {
    const { workspaceId, kit } = await h.tenant();
    const token = "hitrail-verify-0123456789abcdef0123456789abcdef";
    await h.t.db.insert(schema.trackingDomains).values({
      workspaceId,
      host: "track.client.example",
      kind: "custom",
      verificationToken: token,
    });

    const ok = await get("Track.Client.Example:80", `/.well-known/hitrail/${token}`);
    expect(ok.statusCode).toBe(200);
    expect(ok.headers["content-type"]).toMatch(/^text\/plain/);
    expect(ok.body).toBe(token);

    // Another token, another host, or any other path: the bare 404 of an unknown host.
    for (const [host, url] of [
      ["track.client.example", "/.well-known/hitrail/hitrail-verify-ffffffffffffffffffffffffffffffff"],
      ["other.example", `/.well-known/hitrail/${token}`],
      ["track.client.example", "/.well-known/hitrail/..%2f..%2fetc"],
      ["track.client.example", `/fts/${kit.funnelId}`],
    ] as const) {
      const res = await get(host, url);
      expect({ url, status: res.statusCode, body: res.body }).toEqual({
        url,
        status: 404,
        body: "Not Found",
      });
    }
  });
});

describe("/.well-known/hitrail/<token> with rival claims", () => {
  it("serves no token while several workspaces claim the host: the tracker cannot tell whose it is", async () => {
    const a = await h.tenant();
    const b = await h.tenant();
    const host = "contested.client.example";
    const tokenA = "hitrail-verify-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const tokenB = "hitrail-verify-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    await h.t.db.insert(schema.trackingDomains).values({
      workspaceId: a.workspaceId,
      host,
      kind: "custom",
      verificationToken: tokenA,
    });
    expect((await get(host, `/.well-known/hitrail/${tokenA}`)).statusCode).toBe(200);
    await h.t.db.insert(schema.trackingDomains).values({
      workspaceId: b.workspaceId,
      host,
      kind: "custom",
      verificationToken: tokenB,
    });
    for (const token of [tokenA, tokenB]) {
      expect((await get(host, `/.well-known/hitrail/${token}`)).statusCode).toBe(404);
    }
  });
});
