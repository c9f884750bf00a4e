import type { JobsOptions } from "bullmq";
import { z } from "zod";
import { POSTBACK_BACKOFF_TYPE, POSTBACK_RETRY_DELAYS_MS } from "./backoff.ts";

const uuid = z.uuid();

/**
 * Every background job Hitrail runs: the queue it lives on, its payload schema (validated by the
 * producer and again by the worker) and its default options. Producers are typed by job name.
 */
export const jobDefinitions = {
  /** Fire one traffic-source (S2S) postback for one conversion revision. */
  "postback.deliver": {
    queue: "postbacks",
    payload: z.object({ workspaceId: uuid, deliveryId: uuid }),
    options: {
      // About a day of retries: see docs/postback-delivery.md for the schedule.
      attempts: POSTBACK_RETRY_DELAYS_MS.length + 1,
      backoff: { type: POSTBACK_BACKOFF_TYPE },
      removeOnComplete: { age: 86_400, count: 10_000 },
      removeOnFail: { age: 7 * 86_400 },
    },
  },
  /** Re-derive the hourly rollup rows a changed conversion touches. */
  "rollup.conversion": {
    queue: "rollups",
    payload: z.object({ workspaceId: uuid, conversionId: uuid, revision: z.number().int().min(1) }),
    options: {
      attempts: 20,
      backoff: { type: "exponential", delay: 1_000 },
      removeOnComplete: { age: 3_600, count: 10_000 },
      removeOnFail: { age: 7 * 86_400 },
    },
  },
  /**
   * Rebuild the hourly visit rollups of the last `hours` hours (the current one included) from raw
   * hits, as of the visit sweep's watermark; a job scheduler runs it nightly over two days.
   */
  "rollup.hits": {
    queue: "rollups",
    payload: z.object({ hours: z.number().int().min(1).max(168).optional() }),
    options: {
      attempts: 3,
      backoff: { type: "exponential", delay: 5_000 },
      removeOnComplete: 100,
      removeOnFail: 1_000,
    },
  },
  /**
   * Re-enqueue deliveries that are overdue and have no job (Redis lost it, or a job failed outside
   * the processor), and dead-letter the ones whose job gave up.
   */
  "maintenance.deliveries": {
    queue: "maintenance",
    payload: z.object({ overdueMinutes: z.number().int().min(1).max(1_440).optional() }),
    options: {
      attempts: 3,
      backoff: { type: "exponential", delay: 60_000 },
      removeOnComplete: 100,
      removeOnFail: 100,
    },
  },
  /**
   * Run (or resume) one conversion import from its stored file. A retry resumes after the last
   * committed batch, so a worker that dies mid-file costs nothing but time.
   */
  "import.run": {
    queue: "imports",
    payload: z.object({ workspaceId: uuid, importId: uuid }),
    options: {
      attempts: 5,
      backoff: { type: "exponential", delay: 5_000 },
      removeOnComplete: { age: 86_400, count: 1_000 },
      removeOnFail: { age: 7 * 86_400 },
    },
  },
  /** Housekeeping: partitions ahead, retention. */
  "maintenance.partitions": {
    queue: "maintenance",
    payload: z.object({}),
    options: {
      attempts: 3,
      backoff: { type: "exponential", delay: 60_000 },
      removeOnComplete: 100,
      removeOnFail: 100,
    },
  },
} as const satisfies Record<string, { queue: string; payload: z.ZodType; options: JobsOptions }>;

export type JobName = keyof typeof jobDefinitions;
export type JobPayload<N extends JobName> = z.infer<(typeof jobDefinitions)[N]["payload"]>;
export type QueueName = (typeof jobDefinitions)[JobName]["queue"];
export const QUEUE_NAMES = [...new Set(Object.values(jobDefinitions).map((d) => d.queue))] as QueueName[];

export class InvalidJobPayload extends Error {
  constructor(
    readonly job: string,
    readonly issues: string[],
  ) {
    super(`invalid payload for ${job}: ${issues.join("; ")}`);
    this.name = "InvalidJobPayload";
  }
}

export function parseJobPayload<N extends JobName>(name: N, data: unknown): JobPayload<N> {
  const parsed = jobDefinitions[name].payload.safeParse(data);
  if (!parsed.success) {
    throw new InvalidJobPayload(
      name,
      parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`),
    );
  }
  return parsed.data as JobPayload<N>;
}
