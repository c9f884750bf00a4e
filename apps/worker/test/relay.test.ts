import { newId, newIdAt, outboxBacklog } from "@hitrail/db";
import { createTestDatabase, type TestDatabase, testRedisPrefix, testRedisUrl } from "@hitrail/db/testing";
import { schema, sql } from "@hitrail/db/testing/sql";
import { createLogger } from "@hitrail/observability";
import { createQueues, createRedis, type QueueSet, type Redis } from "@hitrail/queue";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { WorkerMetrics } from "../src/metrics.ts";
import { OutboxRelay } from "../src/relay.ts";
import { seedTenant } from "./support/factory.ts";
import { clearRedisPrefix } from "./support/harness.ts";

let t: TestDatabase;
let redis: Redis;
let queues: QueueSet;
let prefix: string;
let workspaceId: string;
const logger = createLogger({ name: "relay-test", level: "silent" });

beforeAll(async () => {
  t = await createTestDatabase();
  prefix = testRedisPrefix("relay");
  redis = createRedis(testRedisUrl());
  queues = createQueues(redis, prefix);
  workspaceId = (await seedTenant(t.db)).workspaceId;
});

beforeEach(async () => {
  await t.db.execute(sql`delete from outbox`);
  await t.db.execute(sql`delete from outbound_deliveries`);
  for (const q of ["postbacks", "rollups"] as const) await queues.get(q).obliterate({ force: true });
});

afterAll(async () => {
  await queues?.close();
  await redis?.quit();
  await clearRedisPrefix(prefix);
  await t?.drop();
});

function relay(over: { redis?: Redis; batchSize?: number } = {}) {
  const metrics = new WorkerMetrics();
  const r = new OutboxRelay(
    { db: t.db, queues, redis: over.redis ?? redis, logger, metrics },
    { batchSize: over.batchSize ?? 500 },
  );
  return { relay: r, metrics };
}

const deliveryRow = (delayMs = 0) => {
  const deliveryId = newId();
  return {
    workspaceId,
    topic: "postback.deliver",
    jobId: `deliver-${deliveryId}`,
    payload: { workspaceId, deliveryId },
    delayMs,
  };
};

const unrelayed = async () =>
  (await t.db.execute<{ n: number }>(sql`select count(*)::int as n from outbox where relayed_at is null`))[0]
    ?.n;

describe("outbox relay", () => {
  it("enqueues each row under its job id, keeps the remaining delay, and marks it relayed", async () => {
    const now = deliveryRow();
    const later = deliveryRow(60_000);
    await t.db.insert(schema.outbox).values([now, later]);
    expect(await relay().relay.relayOnce()).toEqual({ relayed: 2, poison: 0, full: false });
    const q = queues.get("postbacks");
    expect(await q.getJobState(now.jobId)).toBe("waiting");
    expect(await q.getJobState(later.jobId)).toBe("delayed");
    const job = await q.getJob(later.jobId);
    expect(job?.delay).toBeGreaterThan(55_000);
    expect(job?.delay).toBeLessThanOrEqual(60_000);
    expect(job?.opts.attempts).toBe(12);
    expect(await unrelayed()).toBe(0);
  });

  it("enqueues nothing twice when a pass is repeated after a crash before its commit", async () => {
    await t.db.insert(schema.outbox).values([deliveryRow(), deliveryRow()]);
    const { relay: r } = relay();
    await r.relayOnce();
    // The commit that marked them "never happened".
    await t.db.execute(sql`update outbox set relayed_at = null`);
    expect((await r.relayOnce()).relayed).toBe(2);
    expect(await queues.get("postbacks").count()).toBe(2);
  });

  it("sets aside rows it can never enqueue and relays the rest", async () => {
    const good = deliveryRow();
    await t.db.insert(schema.outbox).values([
      { workspaceId, topic: "no.such.job", jobId: "x-1", payload: {} },
      {
        workspaceId,
        topic: "postback.deliver",
        jobId: "x-2",
        payload: { workspaceId, deliveryId: "nope" },
      },
      {
        workspaceId,
        topic: "postback.deliver",
        jobId: "x:3",
        payload: { workspaceId, deliveryId: newId() },
      },
      good,
    ]);
    const { relay: r, metrics } = relay();
    expect(await r.relayOnce()).toEqual({ relayed: 1, poison: 3, full: false });
    expect(await unrelayed()).toBe(0);
    expect(await queues.get("postbacks").getJobState(good.jobId)).toBe("waiting");
    expect((await metrics.outboxPoison.get()).values[0]?.value).toBe(3);
  });

  it("shares the work between relays without enqueueing a row twice", async () => {
    await t.db.insert(schema.outbox).values(Array.from({ length: 1_200 }, () => deliveryRow()));
    const a = relay({ batchSize: 100 }).relay;
    const b = relay({ batchSize: 100 }).relay;
    const drain = async (r: OutboxRelay) => {
      let total = 0;
      for (;;) {
        const { relayed } = await r.relayOnce();
        if (relayed === 0) return total;
        total += relayed;
      }
    };
    const [x, y] = await Promise.all([drain(a), drain(b)]);
    expect(x + y).toBe(1_200);
    expect(x).toBeGreaterThan(0);
    expect(y).toBeGreaterThan(0);
    expect(await queues.get("postbacks").count()).toBe(1_200);
  });

  it("deletes relayed rows once they are older than a day, and only those", async () => {
    const old = Date.now() - 2 * 86_400_000;
    const oldRelayed = { ...deliveryRow(), id: newIdAt(old), relayedAt: new Date(old) };
    const oldPending = { ...deliveryRow(), id: newIdAt(old) };
    const recent = { ...deliveryRow(), id: newId(), relayedAt: new Date() };
    await t.db.insert(schema.outbox).values([oldRelayed, oldPending, recent]);
    expect(await relay().relay.cleanup()).toBe(1);
    const left = await t.db.select({ id: schema.outbox.id }).from(schema.outbox);
    expect(left.map((r) => r.id).sort()).toEqual([oldPending.id, recent.id].sort());
  });

  it("relays the last minutes again after Redis restarts", async () => {
    let runId = "first";
    const fakeRedis = { info: async () => `# Server\r\nrun_id:${runId}\r\n` } as unknown as Redis;
    const { relay: r } = relay({ redis: fakeRedis });
    await t.db.insert(schema.outbox).values([
      { ...deliveryRow(), relayedAt: new Date(Date.now() - 60_000) },
      { ...deliveryRow(), relayedAt: new Date(Date.now() - 3_600_000) },
    ]);
    expect(await r.checkRedis()).toBe(false);
    expect(await r.checkRedis()).toBe(false);
    runId = "second";
    expect(await r.checkRedis()).toBe(true);
    expect(await unrelayed()).toBe(1);
  });

  it("runs as a loop and stops cleanly", async () => {
    const { relay: r } = relay();
    r.start();
    await t.db.insert(schema.outbox).values([deliveryRow(), deliveryRow()]);
    const deadline = Date.now() + 5_000;
    while ((await unrelayed()) !== 0 && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 20));
    await r.stop();
    expect(await unrelayed()).toBe(0);
    expect(await queues.get("postbacks").count()).toBe(2);
  });
});

/** A delivery as the conversion write path stores it: its own outbox entry, not relayed yet. */
const delivery = (delayMs = 0, over: Partial<typeof schema.outboundDeliveries.$inferInsert> = {}) => ({
  id: newId(),
  workspaceId,
  conversionId: newId(),
  revision: 1,
  trafficSourceId: newId(),
  event: "conversion",
  url: "https://ts.example/cb",
  notBefore: new Date(Date.now() + delayMs),
  ...over,
});

const unrelayedDeliveries = async () =>
  (
    await t.db.execute<{ n: number }>(
      sql`select count(*)::int as n from outbound_deliveries where relayed_at is null`,
    )
  )[0]?.n;

describe("outbox relay: a new delivery is its own outbox entry", () => {
  it("enqueues deliver-<id> due at its not_before, beside outbox rows, and marks it relayed once", async () => {
    const now = delivery();
    const later = delivery(60_000);
    const row = deliveryRow();
    await t.db.insert(schema.outboundDeliveries).values([now, later]);
    await t.db.insert(schema.outbox).values(row);
    const { relay: r } = relay();
    expect(await r.relayOnce()).toEqual({ relayed: 3, poison: 0, full: false });
    const q = queues.get("postbacks");
    expect(await q.getJobState(`deliver-${now.id}`)).toBe("waiting");
    expect(await q.getJobState(row.jobId)).toBe("waiting");
    const job = await q.getJob(`deliver-${later.id}`);
    expect(await job?.getState()).toBe("delayed");
    expect(job?.data).toEqual({ workspaceId, deliveryId: later.id });
    expect(job?.delay).toBeGreaterThan(55_000);
    expect(job?.delay).toBeLessThanOrEqual(60_000);
    expect(job?.opts.attempts).toBe(12);
    expect(await unrelayedDeliveries()).toBe(0);
    expect(await r.relayOnce()).toEqual({ relayed: 0, poison: 0, full: false });
    expect(await q.count()).toBe(3);
  });

  it("leaves deliveries alone that are already relayed (as every one stored before the column was)", async () => {
    await t.db.insert(schema.outboundDeliveries).values([delivery(0, { relayedAt: new Date() })]);
    expect(await relay().relay.relayOnce()).toEqual({ relayed: 0, poison: 0, full: false });
    expect(await queues.get("postbacks").count()).toBe(0);
  });

  it("says a pass was full when the deliveries fill a batch, and the next pass takes the rest", async () => {
    await t.db.insert(schema.outboundDeliveries).values(Array.from({ length: 5 }, () => delivery()));
    const { relay: r } = relay({ batchSize: 3 });
    expect(await r.relayOnce()).toEqual({ relayed: 3, poison: 0, full: true });
    expect(await r.relayOnce()).toEqual({ relayed: 2, poison: 0, full: false });
    expect(await queues.get("postbacks").count()).toBe(5);
  });

  it("relays the deliveries of the last minutes again after Redis restarts, and counts them as waiting", async () => {
    let runId = "first";
    const fakeRedis = { info: async () => `# Server\r\nrun_id:${runId}\r\n` } as unknown as Redis;
    const { relay: r } = relay({ redis: fakeRedis });
    await t.db
      .insert(schema.outboundDeliveries)
      .values([
        delivery(0, { relayedAt: new Date(Date.now() - 60_000) }),
        delivery(0, { relayedAt: new Date(Date.now() - 3_600_000) }),
      ]);
    expect(await r.checkRedis()).toBe(false);
    runId = "second";
    expect(await r.checkRedis()).toBe(true);
    expect(await unrelayedDeliveries()).toBe(1);
    expect((await outboxBacklog(t.db)).pending).toBe(1);
  });
});
