import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { createQueues, createRedis, InvalidJobPayload, parseJobPayload } from "../src/index.ts";

const prefix = `hitrail-test:queue:${randomUUID().slice(0, 8)}`;
const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const queues = createQueues(redis, prefix);

afterAll(async () => {
  await queues.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe("job payloads", () => {
  it("rejects a malformed payload before it reaches Redis", async () => {
    await expect(
      queues.enqueue("postback.deliver", { workspaceId: "nope", deliveryId: "x" }),
    ).rejects.toBeInstanceOf(InvalidJobPayload);
    expect(await queues.get("postbacks").count()).toBe(0);
  });

  it("enqueues with the job's defaults and a caller's job id, once", async () => {
    const payload = { workspaceId: randomUUID(), deliveryId: randomUUID() };
    const first = await queues.enqueue("postback.deliver", payload, { jobId: `d-${payload.deliveryId}` });
    const again = await queues.enqueue("postback.deliver", payload, { jobId: `d-${payload.deliveryId}` });
    expect(first).toBe(again);
    const job = await queues.get("postbacks").getJob(first);
    expect(job?.opts.attempts).toBe(12);
    expect(await queues.get("postbacks").count()).toBe(1);
  });

  it("parses on the worker side with the same schema", () => {
    expect(() => parseJobPayload("rollup.conversion", { workspaceId: randomUUID() })).toThrow(/conversionId/);
  });
});
