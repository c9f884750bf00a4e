import type { BackoffStrategy } from "bullmq";

/** The `backoff.type` of jobs whose retry delays come from the postback schedule below. */
export const POSTBACK_BACKOFF_TYPE = "hitrail-postback";

/**
 * Wait before the next attempt of a traffic-source postback, indexed by failed attempts - 1: about a
 * day in all (23.7 h without jitter), front-loaded so a blip is bridged within seconds and a
 * receiver down for a night still gets the conversion. docs/postback-delivery.md shows the table.
 */
export const POSTBACK_RETRY_DELAYS_MS: readonly number[] = [
  5_000, // 5 s
  30_000, // 30 s
  120_000, // 2 min
  600_000, // 10 min
  1_800_000, // 30 min
  3_600_000, // 1 h
  7_200_000, // 2 h
  10_800_000, // 3 h
  14_400_000, // 4 h
  21_600_000, // 6 h
  25_200_000, // 7 h
];

/** ±20 %: deliveries that failed together (a receiver outage) come back spread out, not as a wave. */
export const POSTBACK_JITTER = 0.2;

/** Longest `Retry-After` honoured; a receiver asking for more gets the attempt after this. */
export const MAX_RETRY_AFTER_MS = 6 * 3_600_000;

export interface RetrySchedule {
  /** Delay before attempt n + 1 at index n - 1; the last entry repeats if attempts outnumber it. */
  delaysMs: readonly number[];
  /** Fraction each delay may move either way. */
  jitter: number;
  /** [0, 1) source; injectable so tests are deterministic. */
  random: () => number;
}

export const DEFAULT_POSTBACK_SCHEDULE: RetrySchedule = {
  delaysMs: POSTBACK_RETRY_DELAYS_MS,
  jitter: POSTBACK_JITTER,
  random: Math.random,
};

/** Delay before the next attempt after `failedAttempts` failures (1 = the first attempt failed). */
export function retryDelay(
  failedAttempts: number,
  schedule: RetrySchedule = DEFAULT_POSTBACK_SCHEDULE,
): number {
  const { delaysMs } = schedule;
  if (delaysMs.length === 0) return 0;
  const index = Math.min(Math.max(failedAttempts, 1), delaysMs.length) - 1;
  const base = delaysMs[index] ?? 0;
  const factor = 1 - schedule.jitter + 2 * schedule.jitter * schedule.random();
  return Math.max(0, Math.round(base * factor));
}

/**
 * An error that says when the job must run again. A processor that already decided the next attempt
 * (a `Retry-After`, or a delay it recorded in the database for the delivery log) throws this so
 * BullMQ's retry happens exactly then.
 */
export class RetryLater extends Error {
  constructor(
    message: string,
    readonly retryDelayMs: number,
  ) {
    super(message);
    this.name = "RetryLater";
  }
}

function carriedDelay(err: Error | undefined): number | null {
  const delay = (err as { retryDelayMs?: unknown } | undefined)?.retryDelayMs;
  return typeof delay === "number" && Number.isFinite(delay) ? Math.max(0, delay) : null;
}

/**
 * The worker's `settings.backoffStrategy`: BullMQ calls it for every backoff type that is not
 * built in. A delay carried by the error wins; otherwise the postback schedule applies.
 */
export function createBackoffStrategy(opts: { postback?: RetrySchedule } = {}): BackoffStrategy {
  const postback = opts.postback ?? DEFAULT_POSTBACK_SCHEDULE;
  return (attemptsMade, type, err) => {
    const carried = carriedDelay(err);
    if (carried !== null) return carried;
    if (type === POSTBACK_BACKOFF_TYPE) return retryDelay(attemptsMade, postback);
    // Unknown types fail loudly instead of retrying at once in a tight loop.
    throw new Error(`unknown backoff type '${type}'`);
  };
}
