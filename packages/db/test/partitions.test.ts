import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idTime, newId, newIdAt, schema } from "../src/index.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing/index.ts";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const hit = (id: string) => ({
  id,
  workspaceId: newId(),
  visitorId: newId(),
  funnelId: newId(),
  nodeId: newId(),
  pageKind: "lander" as const,
  createdAt: new Date(idTime(id)),
});

describe("hit partitions", () => {
  it("puts a hit in its month's partition, found by id through pruning", async () => {
    const id = newId();
    await t.db.insert(schema.hits).values(hit(id));
    const month = new Date(idTime(id)).toISOString().slice(0, 7).replace("-", "m");
    const [row] = await t.db.execute<{ part: string }>(
      sql`select tableoid::regclass::text as part from hits where id = ${id}`,
    );
    expect(row?.part).toBe(`hits_y${month}`);
    const plan = await t.db.execute<{ "QUERY PLAN": string }>(
      sql`explain select * from hits where id = ${id}`,
    );
    const text = plan.map((r) => r["QUERY PLAN"]).join("\n");
    expect(text).toContain(`hits_y${month}`);
    expect(text).not.toContain("hits_default");
  });

  it("keeps back-dated hits (six months ago) in the default partition", async () => {
    const id = newIdAt(Date.now() - 183 * 86_400_000);
    await t.db.insert(schema.hits).values(hit(id));
    const [row] = await t.db.execute<{ part: string }>(
      sql`select tableoid::regclass::text as part from hits where id = ${id}`,
    );
    expect(row?.part).toBe("hits_default");
  });

  it("creates partitions ahead idempotently", async () => {
    const [first] = await t.db.execute<{ n: number }>(sql`select hitrail_ensure_hit_partitions(0, 6) as n`);
    const [second] = await t.db.execute<{ n: number }>(sql`select hitrail_ensure_hit_partitions(0, 6) as n`);
    expect(first?.n).toBe(3);
    expect(second?.n).toBe(0);
  });

  it("newIdAt encodes the moment", () => {
    const at = Date.UTC(2026, 4, 17, 12, 0, 0, 123);
    expect(idTime(newIdAt(at))).toBe(at);
  });
});
