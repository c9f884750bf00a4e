import { loadEnv } from "@hitrail/config";
import { count, schema, sql } from "@hitrail/db";
import { createTestDatabase, type TestDatabase } from "@hitrail/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemo } from "../src/commands/seed-demo.ts";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const env = loadEnv({ BASE_DOMAIN: "localhost", TRACKER_PORT: "8080" });

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
  ];
  const out: Array<number> = [];
  for (const table of tables) {
    const [row] = await t.db.select({ n: count() }).from(table);
    out.push(row?.n ?? -1);
  }
  const [latest] = await t.db.execute<{ at: string }>(
    sql`select greatest((select max(updated_at) from workspaces), (select max(updated_at) from traffic_sources), (select max(updated_at) from funnels))::text as at`,
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
});
