import { request } from "node:http";
import type { LookupFunction } from "node:net";
import type { AppRouter } from "@hitrail/api";
import { startApi } from "@hitrail/api";
import { loadEnv } from "@hitrail/config";
import { createTestDatabase, type TestDatabase, testRedisPrefix, testRedisUrl } from "@hitrail/db/testing";
import { createLogger } from "@hitrail/observability";
import { createRedis } from "@hitrail/queue";
import { type RunningTracker, startTracker } from "@hitrail/tracker";
import { createTRPCClient, httpLink } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Issue 22: what the API shows is followed, exactly as copied, against a running tracker. The
// tracker listens on a port of its own (0: any free one) and the api is told that port as
// PUBLIC_PORT, as `pnpm start` does, so the links carry it: `http://acme.localhost:PORT/…`.

let t: TestDatabase;
let tracker: RunningTracker;
let api: Awaited<ReturnType<typeof startApi>>;
let prefix: string;
let port: number;

beforeAll(async () => {
  t = await createTestDatabase();
  prefix = testRedisPrefix("links");
  const raw = {
    DATABASE_URL: t.appUrl,
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: prefix,
    BASE_DOMAIN: "localhost",
    SIGNUP: "open",
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
  };
  const logger = createLogger({ name: "links-test", level: "silent" });
  tracker = await startTracker(loadEnv(raw), { logger, port: 0 });
  port = Number(new URL(tracker.url).port);
  api = await startApi(loadEnv({ ...raw, PUBLIC_PORT: String(port) }), { logger, port: 0 });
}, 60_000);

afterAll(async () => {
  await tracker?.close();
  await api?.close();
  if (prefix) {
    const redis = createRedis(testRedisUrl());
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
  await t?.drop();
});

/** `*.localhost` is this machine (RFC 6761), as browsers resolve it; the URL is used unchanged. */
const localhostLookup: LookupFunction = (hostname, options, callback) => {
  if (!hostname.endsWith(".localhost")) throw new Error(`only *.localhost is followed, not ${hostname}`);
  if ((options as { all?: boolean }).all) {
    (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
      { address: "127.0.0.1", family: 4 },
    ]);
  } else callback(null, "127.0.0.1", 4);
};

interface Answer {
  status: number;
  location: string | null;
  cookie: string | null;
  body: string;
}

/** One GET of a copied URL, no redirect followed. */
function follow(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { lookup: localhostLookup, headers }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          location: res.headers.location ?? null,
          cookie: res.headers["set-cookie"]?.[0]?.split(";")[0] ?? null,
          body,
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("links shown by the api, followed as copied", () => {
  it("entrance link → lander → shown action link → offer URL as shown → network postback as shown", async () => {
    let cookie = "";
    const signUp = await fetch(`${api.url}/trpc/auth.signUp`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "buyer@example.com", password: "correct horse battery staple" }),
    });
    expect(signUp.status).toBe(200);
    cookie = (signUp.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const c = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${api.url}/trpc`, headers: { cookie } })],
    });
    const ws = await c.workspaces.create.mutate({ name: "Acme", slug: "acme" });
    const workspaceId = ws.id;

    // A Custom source reading the click ID from `clickid` (as ExoClick does) with its own cost parameter.
    const source = await c.trafficSources.create.mutate({
      workspaceId,
      name: "My network",
      externalParam: "clickid",
      costParam: "cpc",
    });
    const network = await c.offerSources.create.mutate({
      workspaceId,
      name: "Everflow",
      clickIdParam: "sub1",
      postbackTemplate: "https://DOMAIN/pb/?hit={sub1}&tx={transaction_id}&rev={payout_amount}",
    });
    const offer = await c.offers.create.mutate({
      workspaceId,
      name: "Sweeps",
      url: "https://offers.example/o?aff=7&sub1={hit}&c={country}",
      offerSourceId: network.id,
      defaultPayout: "25",
    });
    const lander = await c.landers.create.mutate({
      workspaceId,
      name: "Quiz",
      url: "https://pages.example/quiz?h={hit}",
    });
    const funnel = await c.funnels.save.mutate({
      workspaceId,
      name: "Quiz funnel",
      entryNodeId: "entry",
      nodes: [
        { id: "entry", name: "Entry", config: { kind: "entry", routes: [{ to: "lp", weight: 1 }] } },
        { id: "lp", name: "Quiz", config: { kind: "lander", pages: [{ pageId: lander.id, weight: 1 }] } },
        { id: "of", name: "Sweeps", config: { kind: "offer", pages: [{ pageId: offer.id, weight: 1 }] } },
      ],
      actions: [{ from: "lp", number: 1, to: "of", triggers: {} }],
    });

    const origin = `http://acme.localhost:${port}`;
    const link = await c.trackingCodes.entranceLink.query({
      workspaceId,
      funnelId: funnel.funnelId,
      trafficSourceId: source.id,
    });
    expect(link.url).toBe(`${origin}/fts/${funnel.funnelId}?ts=${source.id}&clickid=REPLACE&cpc=REPLACE`);
    expect(link.placeholders).toEqual(["clickid", "cpc"]);

    // The network fills its macros where REPLACE stands.
    const entrance = await follow(
      link.url.replace("clickid=REPLACE", "clickid=abc-1").replace("cpc=REPLACE", "cpc=0.05"),
    );
    expect(entrance.status, entrance.body).toBe(302);
    const landed = new URL(entrance.location ?? "");
    expect(landed.origin + landed.pathname).toBe("https://pages.example/quiz");
    const vid = landed.searchParams.get("vid") ?? "";
    expect(vid).toMatch(/^[0-9a-f-]{36}$/);

    const pages = await c.trackingCodes.funnelPages.query({ workspaceId, funnelId: funnel.funnelId });
    const quiz = pages.nodes.find((n) => n.kind === "lander");
    expect(quiz?.actions.map((a) => [a.number, a.to])).toEqual([[1, "Sweeps"]]);
    const action = quiz?.actions[0];
    if (!action) throw new Error("no action link shown");
    expect(action.url).toBe(`${origin}/action/1`);

    const shown = await c.trackingCodes.offer.query({ workspaceId, offerId: offer.id });
    expect(shown.hitProblem).toBeNull();
    // The plain action link, with the visitor's cookie from the entrance: the offer URL as shown.
    const click = await follow(action.url, { cookie: entrance.cookie ?? "" });
    expect(click.status, click.body).toBe(302);
    const sent = new URL(click.location ?? "");
    const hit = sent.searchParams.get("sub1") ?? "";
    expect(hit).toMatch(/^[0-9a-f-]{36}$/);
    // The visitor ID rides along, as the shown URL says: the entrance's visitor.
    expect(sent.searchParams.get("vid")).toBe(vid);
    expect(click.location).toBe(
      shown.offerUrl.replace("{hit}", hit).replace("{country}", "").replace("{vid}", vid),
    );

    // The same action link with the visitor the lander got in its URL, when cookies are blocked
    // (a second visitor: the first one's latest page is now the offer).
    const second = await follow(link.url.replace(/=REPLACE/g, "=x2"));
    expect(second.status, second.body).toBe(302);
    const vid2 = new URL(second.location ?? "").searchParams.get("vid") ?? "";
    expect(vid2).not.toBe(vid);
    const byVid = await follow(action.urlWithVisitor.replace("REPLACE", vid2));
    expect(byVid.status, byVid.body).toBe(302);
    expect(byVid.location?.startsWith("https://offers.example/o?aff=7&sub1=")).toBe(true);

    // The network's postback as shown, its macros filled as the network would.
    expect(shown.postbackUrl).toBe(`${origin}/pb/?hit={sub1}&tx={transaction_id}&rev={payout_amount}`);
    const pb = await follow(
      (shown.postbackUrl ?? "")
        .replace("{sub1}", hit)
        .replace("{transaction_id}", "T-1")
        .replace("{payout_amount}", "12.5"),
    );
    expect(pb.status, pb.body).toBe(200);
    expect(JSON.parse(pb.body)).toMatchObject({ outcome: "created", conversion: { revenue: "12.5" } });

    // The universal tag as shown is served.
    const codes = await c.trackingCodes.get.query({ workspaceId });
    const tagSrc = /src="([^"]+)"/.exec(codes.universalTag)?.[1] ?? "";
    expect(tagSrc).toBe(`${origin}/tag.js`);
    const tag = await follow(tagSrc);
    expect(tag.status).toBe(200);
    expect(tag.body).toContain("flux");
    // And the global postback URL's origin is the tracker's.
    const global = await follow(
      codes.postback.hit.replace("hit=REPLACE", `hit=${hit}`).replace(/=REPLACE/g, "="),
    );
    expect(global.status, global.body).toBe(200);
  }, 60_000);
});
