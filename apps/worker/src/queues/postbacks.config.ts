import type { Env } from "@hitrail/config";
import type { QueueConfig } from "./types.ts";

/**
 * Postbacks spend their time waiting on the network, so many run at once; a per-host limit inside
 * the processor keeps one slow destination from taking them all. A request lasts at most 10 s, so a
 * lock of a minute only expires for a dead worker. A stalled postback may already have been sent:
 * it is retried (at-least-once), and the attempt counter keeps two jobs from sending one attempt.
 */
export function postbacksQueueConfig(env: Env): QueueConfig {
  return {
    queue: "postbacks",
    concurrency: env.WORKER_POSTBACK_CONCURRENCY,
    lockDuration: 60_000,
    stalledInterval: 30_000,
    maxStalledCount: 3,
  };
}
