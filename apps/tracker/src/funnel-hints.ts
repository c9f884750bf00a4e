import type { Logger } from "@hitrail/observability";
import { type Redis, readFunnelVersion } from "@hitrail/queue";

/** The newest funnel version the api recorded on save, if it is known. */
export interface FunnelVersionHints {
  latest(workspaceId: string, funnelId: string): Promise<number | null>;
}

/** After a failed read, hints are not asked for this long: a click never waits on a Redis in trouble twice. */
const BACKOFF_MS = 1_000;

/**
 * Reads the version the api writes to Redis right after a funnel save commits (one GET per click
 * that uses a cached funnel). Any trouble answers "unknown", and the cache keeps routing with its copy
 * as it did before hints: the version poll and the snapshot still cover the outage cases.
 */
export class RedisFunnelHints implements FunnelVersionHints {
  private failedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  async latest(workspaceId: string, funnelId: string): Promise<number | null> {
    if (this.redis.status !== "ready" || this.clock() - this.failedAt < BACKOFF_MS) return null;
    try {
      return await readFunnelVersion(this.redis, this.prefix, workspaceId, funnelId);
    } catch (error) {
      if (this.clock() - this.failedAt > 60_000)
        this.logger.warn(
          { err: (error as Error).message },
          "funnel version hint unreadable; routing on the cached copy",
        );
      this.failedAt = this.clock();
      return null;
    }
  }
}
