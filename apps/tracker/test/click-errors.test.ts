import { createLander, newId, saveFunnelGraph, setFunnelArchived } from "@hitrail/db";
import { eq, schema } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";
import { act, click, enter, hitsOf, location } from "./support/clicks.ts";

let h: TrackerHarness;
beforeAll(async () => {
  h = await createTrackerHarness({ captureLogs: true });
});
afterAll(async () => {
  await h?.close();
});

/** The log line the tracker wrote for the last refused request. */
const lastLog = () => h.logs[h.logs.length - 1];

describe("links the tracker cannot serve", () => {
  it("an unknown host gets a bare 404 and a log line", async () => {
    const res = await click(h, "nobody.example", `/fts/${newId()}`);
    expect(res.statusCode).toBe(404);
    expect(res.body).toBe("Not Found");
    // request.log is made only when a request logs (request-logger.ts): the line still names the request.
    expect(lastLog()).toMatchObject({
      msg: "unknown tracking host",
      host: "nobody.example",
      reqId: expect.any(String),
    });
  });

  it.each<[string, (ids: { funnelId: string; ts: string }) => string, number, string | RegExp]>([
    [
      "an unknown funnel",
      () => `/fts/${"0".repeat(8)}-0000-7000-8000-${"0".repeat(12)}`,
      404,
      /^funnel 00000000-0000-7000-8000-000000000000 does not exist in this workspace/,
    ],
    ["a malformed funnel ID", () => "/fts/not-a-funnel", 400, "funnel ID 'not-a-funnel' is not a valid ID"],
    [
      "a malformed traffic source ID",
      ({ funnelId }) => `/fts/${funnelId}?ts=42`,
      400,
      "traffic source ID (ts) '42' is not a valid ID",
    ],
    [
      "an unknown traffic source",
      ({ funnelId }) => `/fts/${funnelId}?ts=${"1".repeat(32)}`,
      404,
      /^traffic source 11111111-1111-1111-1111-111111111111 does not exist/,
    ],
    [
      "a malformed action number",
      () => "/action/one",
      400,
      "action number 'one' must be a whole number from 1 to 9999",
    ],
    ["action 0", () => "/action/0", 400, "action number '0' must be a whole number from 1 to 9999"],
    ["a malformed hit", () => "/action/1?hit=abc", 400, "hit ID (hit) 'abc' is not a valid ID"],
    [
      "an action that names no page",
      () => "/action/1",
      400,
      /^this action link does not say which page it was clicked on/,
    ],
  ])("%s gets a clear 4xx, a log line and no hit", async (_name, path, status, message) => {
    const { workspaceId, host, kit } = await h.tenant();
    const res = await click(h, host, path({ funnelId: kit.funnelId, ts: kit.trafficSourceId }));
    expect(res.statusCode).toBe(status);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    const { error } = res.json() as { error: string };
    if (typeof message === "string") expect(error).toBe(message);
    else expect(error).toMatch(message);
    expect(lastLog()).toMatchObject({ msg: "bad request", err: error });
    expect(await hitsOf(h, workspaceId)).toHaveLength(0);
  });

  it("a funnel that cannot route a visit gets a 422 naming the problem", async () => {
    const { workspaceId, host } = await h.tenant();
    const entry = newId();
    const lander = newId();
    const { funnelId } = await saveFunnelGraph(h.t.db, {
      workspaceId,
      name: "broken",
      entryNodeId: entry,
      nodes: [
        { id: entry, name: "entry", config: { kind: "entry", routes: [{ to: lander, weight: 1 }] } },
        {
          id: lander,
          name: "Gone lander",
          config: { kind: "lander", pages: [{ pageId: newId(), weight: 1 }] },
        },
      ],
      actions: [],
    });
    const res = await enter(h, host, funnelId);
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toMatch(/^node 'Gone lander' sends visits to page .+, which no longer exists$/);
    expect(await hitsOf(h, workspaceId)).toHaveLength(0);
  });

  it("drops what it cannot store instead of refusing the visitor", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    const res = await enter(h, host, kit.funnelId, {
      query: { ts: kit.trafficSourceId, cost: "lots", external: "a\u0000b\u0007c", zone: "x".repeat(5_000) },
    });
    location(res);
    const [row] = await hitsOf(h, workspaceId);
    expect(row).toMatchObject({ cost: null, externalId: "abc" });
    expect(row?.trackingFields.zone).toHaveLength(512);
    expect(h.logs.some((l) => l.msg === "entrance link: parameters dropped")).toBe(true);
  });

  it("sends the visitor on even when a page URL has characters a header cannot carry", async () => {
    const { workspaceId, host } = await h.tenant();
    const page = await createLander(h.t.db, {
      workspaceId,
      name: "unicode",
      url: "https://pages.example/straße?q=a b&h={hit}",
    });
    const entry = newId();
    const node = newId();
    const { funnelId } = await saveFunnelGraph(h.t.db, {
      workspaceId,
      name: "unicode",
      entryNodeId: entry,
      nodes: [
        { id: entry, name: "entry", config: { kind: "entry", routes: [{ to: node, weight: 1 }] } },
        { id: node, name: "lander", config: { kind: "lander", pages: [{ pageId: page.id, weight: 1 }] } },
      ],
      actions: [],
    });
    const res = await enter(h, host, funnelId);
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toMatch(
      /^https:\/\/pages\.example\/stra%C3%9Fe\?q=a%20b&h=[0-9a-f-]{36}&vid=[0-9a-f-]{36}$/,
    );
  });

  it("an action number the page does not have is a 404 naming the node", async () => {
    const { host, kit } = await h.tenant();
    const hit = location(await enter(h, host, kit.funnelId)).searchParams.get("hit");
    const res = await act(h, host, 7, { query: { hit: String(hit) } });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: `node 'Lander' (${kit.nodes.lander}) has no action 7` });
  });
});

describe("links that must not route or record", () => {
  it("a HEAD (link checkers, ad review) answers 200 without recording a hit", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    for (const url of [`/fts/${kit.funnelId}?ts=${kit.trafficSourceId}`, "/action/1"]) {
      const res = await h.app.inject({ method: "HEAD", url, headers: { host } });
      expect({ url, status: res.statusCode, body: res.body }).toEqual({ url, status: 200, body: "" });
    }
    expect(await hitsOf(h, workspaceId)).toEqual([]);
    // The same link with GET is a visit.
    location(await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId } }));
    expect(await hitsOf(h, workspaceId)).toHaveLength(1);
  });

  it("an archived funnel stops routing within a second, entrance and action links alike", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    const first = await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId } });
    const vid = /hrvid=([^;]+)/.exec(String(first.headers["set-cookie"]))?.[1] ?? "";
    await setFunnelArchived(h.t.db, { workspaceId, funnelId: kit.funnelId, archived: true });
    // Clicks never wait on the database: the cache sees the version bump on its next background
    // check (at most every second) and drops the funnel.
    const entranceStatus = async () =>
      (await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId } })).statusCode;
    await expect.poll(entranceStatus, { timeout: 5_000, interval: 250 }).toBe(404);
    const entrance = await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId } });
    expect(entrance.json().error).toMatch(/is archived/);
    const action = await act(h, host, 1, { cookie: vid });
    expect(action.statusCode).toBe(404);
    const hits = (await hitsOf(h, workspaceId)).length;
    // Restored, it routes again.
    await setFunnelArchived(h.t.db, { workspaceId, funnelId: kit.funnelId, archived: false });
    await expect.poll(entranceStatus, { timeout: 5_000, interval: 250 }).toBe(302);
    expect((await hitsOf(h, workspaceId)).length).toBeGreaterThan(hits);
  });

  it("an archived traffic source's entrance links stop routing", async () => {
    const { host, kit } = await h.tenant();
    await h.t.db
      .update(schema.trafficSources)
      .set({ archivedAt: new Date() })
      .where(eq(schema.trafficSources.id, kit.trafficSourceId));
    const res = await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId } });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatch(/does not exist in this workspace or is archived/);
  });
});

describe("failing clicks from one address", () => {
  it("are answered 429 with Retry-After once over the limit; other addresses and workspaces are untouched", async () => {
    const { host, kit } = await h.tenant();
    const scanner = "198.51.100.7";
    for (let i = 0; i < 121; i++) {
      const res = await click(h, host, `/fts/${newId()}`, { ip: scanner });
      expect(res.statusCode).toBe(404);
    }
    const blocked = await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId }, ip: scanner });
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(0);
    expect(blocked.json().error).toMatch(/too many failing requests from 198\.51\.100\.7/);
    // A visitor elsewhere is not affected, nor the scanner on another workspace's domain.
    location(await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId }, ip: "203.0.113.50" }));
    const other = await h.tenant();
    location(
      await enter(h, other.host, other.kit.funnelId, {
        query: { ts: other.kit.trafficSourceId },
        ip: scanner,
      }),
    );
  });
});
