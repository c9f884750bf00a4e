import type { Logger } from "@hitrail/observability";
import {
  acknowledgeFunnelVersion,
  type FunnelSavedMessage,
  type FunnelSaveListener,
  funnelSavedMessage,
  listenFunnelSaves,
  type Redis,
} from "@hitrail/queue";

/** The newest funnel version a save announced, if one did: known in memory, never read per click. */
export interface FunnelVersionHints {
  latest(workspaceId: string, funnelId: string): number | null;
}

/** Announcements remembered; older ones are dropped first (the version poll covers those funnels). */
const MAX_REMEMBERED = 50_000;

/**
 * Listens to the api's save announcements (`publishFunnelVersion`) on a connection of its own and
 * keeps each funnel's newest version in memory, acknowledging each one once it is in: the api's
 * save answers only after every listening tracker has acknowledged, so the click right after a
 * save finds the newer version here without a Redis read on the click path. While Redis is away no
 * announcement arrives; the cache's version poll (about a second) and the snapshot still cover that.
 */
export class PubSubFunnelHints implements FunnelVersionHints {
  private readonly versions = new Map<string, number>();
  private readonly listener: FunnelSaveListener;
  /** Settles once the subscription is in place (or failed): a tracker listens before it serves. */
  readonly listening: Promise<void>;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly logger: Logger,
  ) {
    // A subscriber connection that cannot reach Redis must not crash or flood the log: the poll covers.
    this.listener = listenFunnelSaves(redis, prefix, (text) => this.take(text));
    this.listening = this.listener.listening.then(
      () => undefined,
      (error: Error) => {
        this.logger.warn({ err: error.message }, "not listening to funnel saves; the version poll covers");
      },
    );
  }

  latest(workspaceId: string, funnelId: string): number | null {
    return this.versions.get(`${workspaceId}:${funnelId}`) ?? null;
  }

  private take(text: string): void {
    let message: FunnelSavedMessage;
    try {
      message = funnelSavedMessage.parse(JSON.parse(text));
    } catch {
      this.logger.warn("unreadable funnel save announcement ignored");
      return;
    }
    const key = `${message.workspaceId}:${message.funnelId}`;
    const known = this.versions.get(key) ?? -1;
    if (message.version > known) {
      // Re-inserted so the map's order is the order of last change: the oldest goes first.
      this.versions.delete(key);
      this.versions.set(key, message.version);
      if (this.versions.size > MAX_REMEMBERED) {
        const oldest = this.versions.keys().next().value;
        if (oldest !== undefined) this.versions.delete(oldest);
      }
    }
    void acknowledgeFunnelVersion(this.redis, message).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.listener.close();
  }
}
