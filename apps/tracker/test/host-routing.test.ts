import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkspaceResolver } from "../src/workspace-resolver.ts";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";

let h: TrackerHarness;
beforeAll(async () => {
  h = await createTrackerHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("host routing", () => {
  it("answers an unknown host with a bare 404 that reveals nothing", async () => {
    const res = await h.app.inject({ method: "GET", url: "/pb/?hit=x", headers: { host: "nobody.example" } });
    expect(res.statusCode).toBe(404);
    expect(res.body).toBe("Not Found");
  });

  it("routes a known host (any case, with a port) to its workspace", async () => {
    const { host } = await h.tenant();
    const res = await h.app.inject({
      method: "GET",
      url: "/no-such-route",
      headers: { host: `${host.toUpperCase()}:8080` },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: "not found" });
  });

  it("serves health checks on any host", async () => {
    const res = await h.app.inject({ method: "GET", url: "/readyz", headers: { host: "10.0.0.1" } });
    expect(res.statusCode).toBe(200);
  });

  it.each([
    ["Track.Example.com:443", "track.example.com"],
    ["track.example.com.", "track.example.com"],
    ["[::1]:80", null],
    ["bad host", null],
    [undefined, null],
  ])("normalizes %s → %s", (header, host) => {
    expect(WorkspaceResolver.normalizeHost(header)).toBe(host);
  });
});
