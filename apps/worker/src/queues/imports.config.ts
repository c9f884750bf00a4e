import type { QueueConfig } from "./types.ts";

/**
 * One import at a time per process: each holds a connection and the CPU for minutes, and two
 * imports of the same workspace must not interleave their ledgers. A long import renews its lock;
 * one whose worker died is handed over and resumes after its last committed batch.
 */
export function importsQueueConfig(): QueueConfig {
  return {
    queue: "imports",
    concurrency: 1,
    lockDuration: 300_000,
    stalledInterval: 60_000,
    maxStalledCount: 3,
  };
}
