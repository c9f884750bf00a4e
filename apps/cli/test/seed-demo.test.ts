import { Writable } from "node:stream";
import { buildApi } from "@hitrail/api";
import { loadEnv } from "@hitrail/config";
import { createTestDatabase, type TestDatabase, testRedisPrefix, testRedisUrl } from "@hitrail/db/testing";
import { count, schema, sql } from "@hitrail/db/testing/sql";
import { createLogger } from "@hitrail/observability";
import { createRedis } from "@hitrail/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemo } from "../src/commands/seed-demo.ts";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const env = loadEnv({ BASE_DOMAIN: "localhost", TRACKER_PORT: "8080", PUBLIC_PORT: "8080" });

/** A fingerprint of every table the seed writes: row counts and the latest change. */
async function snapshot() {
  const tables = [
    schema.workspaces,
    schema.trackingDomains,
    schema.trafficSources,
    schema.offerSources,
    schema.offers,
    schema.landers,
    schema.funnels,
    schema.funnelNodes,
    schema.funnelActions,
    schema.apiKeys,
    schema.users,
    schema.memberships,
  ];
  const out: Array<number> = [];
  for (const table of tables) {
    const [row] = await t.db.select({ n: count() }).from(table);
    out.push(row?.n ?? -1);
  }
  const [latest] = await t.db.execute<{ at: string }>(
    sql`select greatest((select max(updated_at) from workspaces), (select max(updated_at) from traffic_sources), (select max(updated_at) from funnels), (select max(updated_at) from users))::text as at`,
  );
  return { counts: out, latest: latest?.at };
}

describe("seed-demo", () => {
  it("creates the demo workspace with what the issue lists", async () => {
    const seed = await seedDemo(t.app.db, env, { tsPostbackUrl: "http://127.0.0.1:9/receiver" });
    expect(seed.created).toBe(true);
    expect(seed.trackingDomain).toBe("demo.localhost");
    expect(seed.offerPageIds).toHaveLength(2);
    expect(seed.entranceUrl).toContain(`/fts/${seed.funnelId}?ts=${seed.trafficSourceId}&external=`);
    expect(seed.postbackUrl).toBe("http://demo.localhost:8080/pb/?hit=REPLACE&tx=REPLACE&rev=REPLACE");
    expect(seed.apiKey).toMatch(/^hr_demo_/);
    const offers = await t.db.select().from(schema.offers);
    expect(offers.map((o) => o.defaultPayout).sort()).toEqual(["12.500000", "30.000000"]);
    const [ts] = await t.db.select().from(schema.trafficSources);
    expect(ts?.postbackUrl).toContain("{external}");
    expect(ts?.postbackUrl).toContain("{payout}");
  });

  it("changes nothing the second time and prints the same object", async () => {
    const first = await seedDemo(t.app.db, env, { tsPostbackUrl: "http://127.0.0.1:9/receiver" });
    const before = await snapshot();
    const second = await seedDemo(t.app.db, env, { tsPostbackUrl: "http://127.0.0.1:9/receiver" });
    expect(await snapshot()).toEqual(before);
    expect({ ...second, created: true }).toEqual({ ...first, created: true });
    expect(second.created).toBe(false);
  });

  it("prints a sign-in that opens the demo workspace, and leaves the first sign-up to a real user", async () => {
    const seed = await seedDemo(t.app.db, env);
    expect(seed.signIn?.email).toBe("demo@demo.localhost");
    expect(seed.entranceUrl.startsWith("http://demo.localhost:8080/fts/")).toBe(true);
    const redis = createRedis(testRedisUrl());
    const prefix = testRedisPrefix("seed-demo");
    const api = await buildApi({
      db: t.app,
      logger: createLogger({
        name: "seed-demo-test",
        level: "silent",
        destination: new Writable({ write: (_c, _e, cb) => cb() }),
      }),
      redis,
      redisPrefix: prefix,
      settings: { signup: "first" },
    });
    try {
      const post = (path: string, body: unknown, cookie?: string) =>
        api.inject({
          method: "POST",
          url: `/trpc/${path}`,
          headers: { "content-type": "application/json", ...(cookie ? { cookie } : {}) },
          payload: JSON.stringify(body),
        });
      const wrong = await post("auth.signIn", { email: seed.signIn?.email, password: "not-the-password" });
      expect(wrong.statusCode).toBe(401);
      const signedIn = await post("auth.signIn", seed.signIn);
      expect(signedIn.statusCode, signedIn.body).toBe(200);
      const cookie = String(signedIn.headers["set-cookie"]).split(";")[0] ?? "";
      const list = await api.inject({ method: "GET", url: "/trpc/workspaces.list", headers: { cookie } });
      expect(list.statusCode, list.body).toBe(200);
      expect(list.body).toContain(seed.workspaceId);
      // The demo's offers pass the hit where the demo network's postback reads it back from.
      const input = encodeURIComponent(
        JSON.stringify({ workspaceId: seed.workspaceId, offerId: seed.offerPageIds[0] }),
      );
      const codes = await api.inject({
        method: "GET",
        url: `/trpc/trackingCodes.offer?input=${input}`,
        headers: { cookie },
      });
      expect(codes.statusCode, codes.body).toBe(200);
      expect(JSON.parse(codes.body).result.data).toMatchObject({ hitParams: ["clickid"], hitProblem: null });
      // SIGNUP=first: the demo account is not the server's first account.
      const first = await post("auth.signUp", {
        email: "me@example.com",
        password: "a long enough password",
      });
      expect(first.statusCode, first.body).toBe(200);
      const second = await post("auth.signUp", {
        email: "you@example.com",
        password: "a long enough password",
      });
      expect(second.statusCode).toBe(403);
    } finally {
      await api.close();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    }
  });
});
