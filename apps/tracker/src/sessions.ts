import { isSessionLive, MAX_SESSION_HITS, type SessionHitRef, type VisitorSession } from "@hitrail/core";
import type { Redis } from "@hitrail/queue";

type Entry = VisitorSession["entry"];

/**
 * Visitor sessions in Redis, one per (workspace, visitor): a hash with the entry data and a list
 * of the journey's hits. Every read or write slides the lifetime (seed: 4 days by default,
 * "they automatically extend when getting activity").
 */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private keys(workspaceId: string, visitorId: string) {
    const base = `${this.prefix}:v:${workspaceId}:${visitorId}`;
    return { meta: base, hits: `${base}:h` };
  }

  /**
   * The live session, its lifetime extended; null when it never existed or expired. With `now`, a
   * session idle for longer than the lifetime by that clock is expired too (and removed), even if
   * Redis has not dropped it yet: tests move time with an injected clock that Redis knows nothing of.
   */
  async get(
    workspaceId: string,
    visitorId: string,
    ttlSeconds: number,
    now?: number,
  ): Promise<VisitorSession | null> {
    const k = this.keys(workspaceId, visitorId);
    const result = await this.redis
      .multi()
      .hgetall(k.meta)
      .lrange(k.hits, 0, -1)
      .expire(k.meta, ttlSeconds)
      .expire(k.hits, ttlSeconds)
      .exec();
    const meta = (result?.[0]?.[1] ?? {}) as Record<string, string>;
    if (!meta.entry) return null;
    const hits = ((result?.[1]?.[1] ?? []) as string[]).map((h) => JSON.parse(h) as SessionHitRef);
    const session: VisitorSession = {
      visitorId,
      workspaceId,
      hits,
      entry: JSON.parse(meta.entry) as Entry,
      createdAt: Number(meta.createdAt),
      lastSeenAt: Number(meta.lastSeenAt),
    };
    if (now !== undefined && !isSessionLive(session, now, ttlSeconds * 1000)) {
      await this.redis.del(k.meta, k.hits);
      return null;
    }
    return session;
  }

  /**
   * Whether the visitor has a live session, without reading its journey (an entrance only needs
   * to know whether to resume). Does not extend it: the hit that follows does.
   */
  async isLive(workspaceId: string, visitorId: string, ttlSeconds: number, now: number): Promise<boolean> {
    const k = this.keys(workspaceId, visitorId);
    const [entry, lastSeenAt] = await this.redis.hmget(k.meta, "entry", "lastSeenAt");
    if (!entry || !lastSeenAt) return false;
    return Number(lastSeenAt) + ttlSeconds * 1000 > now;
  }

  /** Starts a session (or refreshes its entry data) and records a hit, all in one round trip. */
  async recordHit(opts: {
    workspaceId: string;
    visitorId: string;
    ttlSeconds: number;
    hit: SessionHitRef;
    /** Set for a new session or a fresh entrance; left alone for action clicks. */
    entry?: Entry;
    now: number;
  }): Promise<void> {
    const k = this.keys(opts.workspaceId, opts.visitorId);
    const m = this.redis.multi();
    if (opts.entry) {
      m.hset(k.meta, "entry", JSON.stringify(opts.entry));
      m.hsetnx(k.meta, "createdAt", String(opts.now));
    }
    m.hset(k.meta, "lastSeenAt", String(opts.now));
    m.rpush(k.hits, JSON.stringify(opts.hit));
    m.ltrim(k.hits, -MAX_SESSION_HITS, -1);
    m.expire(k.meta, opts.ttlSeconds);
    m.expire(k.hits, opts.ttlSeconds);
    await m.exec();
  }

  /** Seconds the session has left (-2 when gone), for tests and debugging. */
  ttl(workspaceId: string, visitorId: string): Promise<number> {
    return this.redis.ttl(this.keys(workspaceId, visitorId).meta);
  }
}
