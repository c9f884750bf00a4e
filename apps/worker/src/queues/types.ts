import type { QueueName } from "@hitrail/queue";

/** How this process runs one queue (midday-style: one small object per queue). */
export interface QueueConfig {
  queue: QueueName;
  /** Jobs of this queue one process runs at once. */
  concurrency: number;
  /**
   * How long a job's lock lasts without renewal; BullMQ renews it at half that while the job runs.
   * Only a worker that died (or blocked its event loop that long) loses it: the job is then stalled
   * and handed to another worker.
   */
  lockDuration: number;
  /** How often this process looks for stalled jobs. */
  stalledInterval: number;
  /** Times a job may stall before BullMQ fails it instead of handing it back again. */
  maxStalledCount: number;
  /** Optional global rate limit for the queue (all processes): at most `max` jobs per `duration` ms. */
  limiter?: { max: number; duration: number };
}
