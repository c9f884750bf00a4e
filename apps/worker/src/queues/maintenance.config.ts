import type { QueueConfig } from "./types.ts";

/** Housekeeping runs one job at a time; each is idempotent, so a stalled one simply runs again. */
export function maintenanceQueueConfig(): QueueConfig {
  return {
    queue: "maintenance",
    concurrency: 1,
    lockDuration: 600_000,
    stalledInterval: 60_000,
    maxStalledCount: 2,
  };
}
