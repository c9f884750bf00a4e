import type { Logger } from "@hitrail/observability";
import type { Redis } from "@hitrail/queue";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";

export interface FailureLimiterOptions {
  /** Failing postbacks allowed per source IP and workspace in `durationSeconds`. */
  points: number;
  durationSeconds: number;
  /** How long a source that went over is answered 429. */
  blockSeconds: number;
}

export const FAILURE_LIMIT_DEFAULTS: FailureLimiterOptions = {
  points: 120,
  durationSeconds: 60,
  blockSeconds: 60,
};

/**
 * Limits the rate of FAILING postbacks (unknown hits, bad keys, malformed requests) per source IP
 * and workspace, never the rate of valid ones: a network's good postbacks cost nothing here. Failures
 * are counted in Redis (shared by every tracker process); once a source is over, this process
 * remembers the block locally, so checking a request costs no Redis round trip. Counting per
 * workspace keeps one tenant's broken integration from blocking a network's IP for every tenant.
 */
export class FailureLimiter {
  private readonly limiter: RateLimiterRedis;
  private readonly blockedUntil = new Map<string, number>();

  constructor(
    redis: Redis,
    prefix: string,
    private readonly logger: Logger,
    opts: FailureLimiterOptions = FAILURE_LIMIT_DEFAULTS,
    /** What is counted, so postbacks and clicks keep separate budgets. */
    name = "pb-fail",
  ) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${prefix}:rl:${name}`,
      points: opts.points,
      duration: opts.durationSeconds,
      blockDuration: opts.blockSeconds,
    });
  }

  /** Milliseconds the source must still wait, 0 when it may post. */
  blockedForMs(key: string): number {
    const until = this.blockedUntil.get(key);
    if (until === undefined) return 0;
    const left = until - Date.now();
    if (left > 0) return left;
    this.blockedUntil.delete(key);
    return 0;
  }

  /** Counts one failure; the request that crosses the limit is still answered normally. */
  async recordFailure(key: string): Promise<void> {
    try {
      await this.limiter.consume(key);
    } catch (result) {
      if (result instanceof RateLimiterRes) {
        if (this.blockedUntil.size > 100_000) this.blockedUntil.clear();
        this.blockedUntil.set(key, Date.now() + Math.max(result.msBeforeNext, 1_000));
        this.logger.warn(
          { source: key, blockMs: result.msBeforeNext },
          "postback source blocked after repeated failures",
        );
        return;
      }
      // Without Redis the limiter is open: abuse protection must never cost a real conversion.
      this.logger.warn({ err: (result as Error).message }, "failure limiter unavailable");
    }
  }
}
