import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idTime, newId, newIdAt } from "../src/index.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing/index.ts";
import { schema } from "../src/testing/sql.ts";

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

describe("postback log partitions and retention", () => {
  const entry = (receivedAt: Date) => ({
    workspaceId: newId(),
    receivedAt,
    method: "GET",
    outcome: "rejected" as const,
    httpStatus: 404,
    reason: "hit not found",
  });
  const partOf = async (id: string) =>
    (
      await t.db.execute<{ part: string }>(
        sql`select tableoid::regclass::text as part from received_postbacks where id = ${id}`,
      )
    )[0]?.part ?? null;

  it("files each entry in its day's partition (or the default one) and drops days past retention", async () => {
    const DAY = 86_400_000;
    const now = Date.now();
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, "");
    // Partitions back to 95 days, as if the log had been running that long.
    await t.db.execute(sql`select hitrail_ensure_postback_log_partitions(95, 3)`);
    const [today, old, ancient] = await t.db
      .insert(schema.receivedPostbacks)
      .values([entry(new Date(now)), entry(new Date(now - 93 * DAY)), entry(new Date(now - 400 * DAY))])
      .returning({ id: schema.receivedPostbacks.id });
    expect(await partOf(today?.id ?? "")).toBe(`received_postbacks_d${day(now)}`);
    expect(await partOf(old?.id ?? "")).toBe(`received_postbacks_d${day(now - 93 * DAY)}`);
    expect(await partOf(ancient?.id ?? "")).toBe("received_postbacks_default");

    const [dropped] = await t.db.execute<{ n: number }>(
      sql`select hitrail_drop_postback_log_partitions(90) as n`,
    );
    // Days 91…95 back are gone whole (the day that ends exactly at the cutoff may stay).
    expect(Number(dropped?.n)).toBeGreaterThanOrEqual(4);
    expect(await partOf(old?.id ?? "")).toBeNull();
    expect(await partOf(ancient?.id ?? "")).toBeNull();
    expect(await partOf(today?.id ?? "")).toBe(`received_postbacks_d${day(now)}`);
    const [left] = await t.db.execute<{ oldest: string }>(
      sql`select min(to_date(substr(c.relname, 21), 'YYYYMMDD'))::text as oldest from pg_inherits i
          join pg_class c on c.oid = i.inhrelid where i.inhparent = 'received_postbacks'::regclass
          and c.relname ~ '^received_postbacks_d[0-9]{8}$'`,
    );
    expect(Date.parse(left?.oldest ?? "")).toBeGreaterThanOrEqual(now - 91 * DAY);
    // Idempotent.
    const [again] = await t.db.execute<{ n: number }>(
      sql`select hitrail_drop_postback_log_partitions(90) as n`,
    );
    expect(Number(again?.n)).toBe(0);
  });
});
