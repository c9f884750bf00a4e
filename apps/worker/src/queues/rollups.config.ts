import type { QueueConfig } from "./types.ts";

/**
 * Rollup jobs are short transactions on Postgres: a few at once is plenty, and more would only
 * queue on the database. A stalled rollup job is safe to run again (the ledger makes it idempotent).
 */
export function rollupsQueueConfig(): QueueConfig {
  return {
    queue: "rollups",
    concurrency: 4,
    lockDuration: 120_000,
    stalledInterval: 30_000,
    maxStalledCount: 5,
  };
}
