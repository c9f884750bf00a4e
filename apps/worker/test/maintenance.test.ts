import { findDelivery } from "@hitrail/db";
import { createTestDatabase, type TestDatabase } from "@hitrail/db/testing";
import { schema, sql } from "@hitrail/db/testing/sql";
import type { JobName, JobPayload } from "@hitrail/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConversion, insertPath, seedTenant } from "./support/factory.ts";
import {
  clearRedisPrefix,
  type Receiver,
  startReceiver,
  startTestWorker,
  type TestWorker,
  waitFor,
} from "./support/harness.ts";

let t: TestDatabase;
let receiver: Receiver;
let worker: TestWorker;

beforeAll(async () => {
  t = await createTestDatabase();
  receiver = await startReceiver();
  // No relay: these tests play the part of a Redis that lost what was relayed.
  worker = await startTestWorker(t, { queues: ["maintenance", "postbacks"], relay: false });
});

afterAll(async () => {
  await worker?.close();
  await receiver?.close();
  if (worker) await clearRedisPrefix(worker.prefix);
  await t?.drop();
});

async function runJob<N extends JobName>(name: N, payload: JobPayload<N>) {
  const id = await worker.queues.enqueue(name, payload);
  const queue = worker.queues.get("maintenance");
  await waitFor(async () => (await queue.getJobState(id)) === "completed", { what: `${name} to complete` });
  return (await queue.getJob(id))?.returnvalue as Record<string, number>;
}

describe("job payloads on the worker side", () => {
  it("fails a job with an invalid payload once, without retrying it", async () => {
    // Straight into BullMQ, past the typed producer, as a foreign or outdated producer might.
    const queue = worker.queues.get("postbacks");
    const job = await queue.add("postback.deliver", { workspaceId: "not-a-uuid" }, { attempts: 5 });
    await waitFor(async () => (await queue.getJobState(job.id!)) === "failed", { what: "the job to fail" });
    const failed = await queue.getJob(job.id!);
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.failedReason).toMatch(/invalid payload for postback.deliver: workspaceId/);
  });

  it("fails a job name its queue does not run", async () => {
    const queue = worker.queues.get("maintenance");
    const job = await queue.add("rollup.conversion", {}, { attempts: 5 });
    await waitFor(async () => (await queue.getJobState(job.id!)) === "failed", { what: "the job to fail" });
    expect((await queue.getJob(job.id!))?.failedReason).toMatch(/no handler for job 'rollup.conversion'/);
  });
});

describe("maintenance jobs", () => {
  it("keeps hit and postback-log partitions ahead, and drops log days past retention", async () => {
    // Migrations made them; a postback-log day from 100 days ago (older than the 90-day default) goes.
    await t.db.execute(sql`select hitrail_ensure_postback_log_partitions(100, 0)`);
    const result = await runJob("maintenance.partitions", {});
    expect(result).toMatchObject({ made: 0, logMade: 0 });
    expect((result as { logDropped: number }).logDropped).toBeGreaterThanOrEqual(9);
    expect(await runJob("maintenance.partitions", {})).toEqual({ made: 0, logMade: 0, logDropped: 0 });
  });

  it("re-enqueues an overdue delivery whose job was lost, and dead-letters one with no attempts left", async () => {
    const tenant = await seedTenant(t.db, { postbackTemplate: `${receiver.url}/pb/lost?c={external}` });
    const lost = await createConversion(t.db, tenant, {
      hit: (await insertPath(t.db, tenant)).offer,
      revenue: "1",
    });
    const spent = await createConversion(t.db, tenant, {
      hit: (await insertPath(t.db, tenant)).offer,
      revenue: "1",
    });
    // Relayed long ago, but Redis no longer has the jobs.
    await t.db.execute(sql`update outbox set relayed_at = now() - interval '1 hour'`);
    await t.db.execute(sql`
      update outbound_deliveries set not_before = now() - interval '1 hour', updated_at = now() - interval '1 hour'
      where id = ${lost.deliveryId}`);
    await t.db
      .update(schema.outboundDeliveries)
      .set({ status: "failed", attempts: 12, notBefore: new Date(Date.now() - 3_600_000) })
      .where(sql`${schema.outboundDeliveries.id} = ${spent.deliveryId}`);

    expect(await runJob("maintenance.deliveries", {})).toEqual({ overdue: 2, requeued: 1, dead: 1 });
    await waitFor(
      async () =>
        (await findDelivery(t.db, { workspaceId: tenant.workspaceId, deliveryId: lost.deliveryId! }))
          ?.status === "delivered",
      {
        what: "the recovered delivery",
      },
    );
    expect(receiver.requests).toHaveLength(1);
    const dead = await findDelivery(t.db, { workspaceId: tenant.workspaceId, deliveryId: spent.deliveryId! });
    expect(dead?.status).toBe("dead");
    expect(dead?.lastError).toMatch(/replay it to try again/);
    // Nothing left to do on the next run.
    expect(await runJob("maintenance.deliveries", {})).toEqual({ overdue: 0, requeued: 0, dead: 0 });
  });
});
