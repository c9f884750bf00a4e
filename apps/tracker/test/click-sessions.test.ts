import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";
import { act, enter, hitsOf, location, visitorCookieOf } from "./support/clicks.ts";

let h: TrackerHarness;
beforeAll(async () => {
  h = await createTrackerHarness();
});
afterAll(async () => {
  await h?.close();
});

const DAY_MS = 24 * 60 * 60 * 1000;
const FOUR_DAYS_S = 4 * 24 * 60 * 60;

const sessionKeys = (workspaceId: string, vid: string) => {
  const base = `${h.deps.prefix}:v:${workspaceId}:${vid}`;
  return [base, `${base}:h`];
};

describe("visitor sessions", () => {
  it("live 4 days (the workspace default) and every click extends them", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    const start = h.clock.now;
    const vid = visitorCookieOf(await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId } }));
    for (const key of sessionKeys(workspaceId, vid)) {
      expect(await h.redis.ttl(key)).toBeGreaterThan(FOUR_DAYS_S - 5);
      expect(await h.redis.ttl(key)).toBeLessThanOrEqual(FOUR_DAYS_S);
    }

    // Three days later (Redis is told so by hand: it keeps real time) the visitor clicks on.
    h.clock.advance(3 * DAY_MS);
    for (const key of sessionKeys(workspaceId, vid)) await h.redis.expire(key, DAY_MS / 1000);
    const res = await act(h, host, 1, { cookie: vid });
    expect(location(res).pathname).toBe("/offer-a");
    expect(res.headers["set-cookie"]).toContain(`Max-Age=${FOUR_DAYS_S}`);
    for (const key of sessionKeys(workspaceId, vid))
      expect(await h.redis.ttl(key)).toBeGreaterThan(FOUR_DAYS_S - 5);

    // Six days after the entrance but three after the last click: still the same session.
    h.clock.advance(3 * DAY_MS);
    const session = await h.deps.sessions.get(workspaceId, vid, FOUR_DAYS_S, h.clock.now);
    expect(session).toMatchObject({ createdAt: start, lastSeenAt: start + 3 * DAY_MS });
    expect(location(await act(h, host, 2, { cookie: vid, query: { n: kit.nodes.lander } })).pathname).toBe(
      "/offer-b",
    );
    const rows = await hitsOf(h, workspaceId);
    expect(new Set(rows.map((r) => r.visitorId))).toEqual(new Set([vid]));
  });

  it("a visitor whose session expired starts a new one", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    const old = visitorCookieOf(await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId } }));
    h.clock.advance(4 * DAY_MS + 1_000);

    // Its action links no longer know where the visitor was…
    const lost = await act(h, host, 1, { cookie: old });
    expect(lost.statusCode).toBe(404);
    expect(lost.json().error).toMatch(/session has expired/);
    // …and an entrance starts afresh, with a new visitor.
    const res = await enter(h, host, kit.funnelId, {
      query: { ts: kit.trafficSourceId, vid: old },
      cookie: old,
    });
    const fresh = visitorCookieOf(res);
    expect(fresh).not.toBe(old);
    expect(await h.deps.sessions.get(workspaceId, old, FOUR_DAYS_S, h.clock.now)).toBeNull();
    const session = await h.deps.sessions.get(workspaceId, fresh, FOUR_DAYS_S, h.clock.now);
    expect(session?.hits).toHaveLength(1);
    expect(session?.createdAt).toBe(h.clock.now);
  });

  it("a session Redis already dropped starts a new one too", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    const old = visitorCookieOf(await enter(h, host, kit.funnelId));
    await h.redis.del(...sessionKeys(workspaceId, old));
    expect(visitorCookieOf(await enter(h, host, kit.funnelId, { cookie: old }))).not.toBe(old);
  });

  it("keeps the workspace's own session lifetime", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    await h.t.sql`update workspaces set session_ttl_seconds = 3600 where id = ${workspaceId}`;
    const res = await enter(h, host, kit.funnelId);
    const vid = visitorCookieOf(res);
    expect(res.headers["set-cookie"]).toContain("Max-Age=3600;");
    expect(await h.deps.sessions.ttl(workspaceId, vid)).toBeLessThanOrEqual(3600);
    h.clock.advance(3_601_000);
    expect(visitorCookieOf(await enter(h, host, kit.funnelId, { cookie: vid }))).not.toBe(vid);
  });
});
