import { createHash } from "node:crypto";
import { isSessionLive, MAX_SESSION_HITS, type SessionHitRef, type VisitorSession } from "@hitrail/core";
import type { Logger } from "@hitrail/observability";
import { isCluster, type Redis, visitorKeys } from "@hitrail/queue";

type Entry = VisitorSession["entry"];

// One script instead of a MULTI of up to seven commands: this runs on every click, and the client
// side of a transaction (a command object and a reply per step) cost more than Redis's side.
// KEYS: meta hash, hits list. ARGV: entry JSON ('' keeps the entry), now, hit JSON, ttl, max hits.
// Redis runs on the same cores as the tracker: each call the script saves is Redis CPU a click
// no longer costs (the entry and the time in one HSET; the list trimmed only once it is too long).
const RECORD_HIT = `
if ARGV[1] ~= '' then
  redis.call('HSET', KEYS[1], 'entry', ARGV[1], 'lastSeenAt', ARGV[2])
  redis.call('HSETNX', KEYS[1], 'createdAt', ARGV[2])
else
  redis.call('HSET', KEYS[1], 'lastSeenAt', ARGV[2])
end
if redis.call('RPUSH', KEYS[2], ARGV[3]) > tonumber(ARGV[5]) then
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[5]), -1)
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1`;
const RECORD_HIT_SHA = createHash("sha1").update(RECORD_HIT).digest("hex");

// A session read as one script too (a postback by visitor, a tag view, an action click): its entry
// and journey, its lifetime slid. KEYS: meta hash, hits list. ARGV: ttl. Returns {meta as a flat
// list of fields and values, hits}.
const GET_SESSION = `
local meta = redis.call('HGETALL', KEYS[1])
local hits = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return {meta, hits}`;
const GET_SESSION_SHA = createHash("sha1").update(GET_SESSION).digest("hex");

interface Script {
  text: string;
  sha: string;
}
const recordHitScript: Script = { text: RECORD_HIT, sha: RECORD_HIT_SHA };
const getSessionScript: Script = { text: GET_SESSION, sha: GET_SESSION_SHA };

/**
 * Visitor sessions in Redis, one per (workspace, visitor): a hash with the entry data and a list
 * of the journey's hits. Every read or write slides the lifetime (seed: 4 days by default,
 * "they automatically extend when getting activity").
 */
interface PendingScript {
  script: Script;
  args: string[];
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class SessionStore {
  private pending: PendingScript[] = [];

  private degradedSince: number | null = null;
  private degradedCalls = 0;
  private lastFailureAt = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger?: Pick<Logger, "warn" | "info">,
  ) {}

  /**
   * For click paths that can go on without the session (a click must still 302 and its hit still
   * commit while Redis is away): the failure becomes `fallback` (a new visitor, no journey), and one
   * line is logged when sessions become unavailable and one when they work again.
   */
  async tolerate<T>(call: () => Promise<T>, fallback: T): Promise<T> {
    // Known down (ioredis is reconnecting, or a command failed within the last second): answer at
    // once instead of each click waiting for its own command to fail; one click a second probes.
    const now = Date.now();
    if (this.redis.status !== "ready" || (this.degradedSince !== null && now - this.lastFailureAt < 1_000)) {
      this.degradedCalls++;
      if (this.degradedSince === null) this.degraded(new Error(`Redis connection ${this.redis.status}`));
      return fallback;
    }
    try {
      const value = await call();
      if (this.degradedSince !== null) {
        this.logger?.info(
          { downForMs: Date.now() - this.degradedSince, clicksWithoutSession: this.degradedCalls },
          "visitor sessions available again",
        );
        this.degradedSince = null;
      }
      return value;
    } catch (error) {
      this.degradedCalls++;
      this.lastFailureAt = Date.now();
      if (this.degradedSince === null) this.degraded(error);
      return fallback;
    }
  }

  private degraded(error: unknown): void {
    this.degradedSince = Date.now();
    this.lastFailureAt = this.degradedSince;
    this.degradedCalls = 1;
    this.logger?.warn(
      { err: (error as Error).message },
      "visitor sessions unavailable (Redis): clicks still redirect and record hits, each as a new visitor",
    );
  }

  private keys(workspaceId: string, visitorId: string) {
    return visitorKeys(this.prefix, isCluster(this.redis), workspaceId, visitorId);
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
    const [fields, list] = (await this.run(getSessionScript, [k.meta, k.hits, String(ttlSeconds)])) as [
      string[],
      string[],
    ];
    const meta: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) meta[fields[i] as string] = fields[i + 1] as string;
    if (!meta.entry) return null;
    const hits = list.map((h) => JSON.parse(h) as SessionHitRef);
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
  recordHit(opts: {
    workspaceId: string;
    visitorId: string;
    ttlSeconds: number;
    hit: SessionHitRef;
    /** Set for a new session or a fresh entrance; left alone for action clicks. */
    entry?: Entry;
    now: number;
  }): Promise<void> {
    const k = this.keys(opts.workspaceId, opts.visitorId);
    const args = [
      k.meta,
      k.hits,
      opts.entry ? JSON.stringify(opts.entry) : "",
      String(opts.now),
      JSON.stringify(opts.hit),
      String(opts.ttlSeconds),
      String(MAX_SESSION_HITS),
    ];
    return this.run(recordHitScript, args).then(() => undefined);
  }

  /** Runs a session script with the others of this turn of the event loop (flushScripts). */
  private run(script: Script, args: string[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => void this.flushScripts());
      this.pending.push({ script, args, resolve, reject });
    });
  }

  // Clicks and reads that arrive in the same turn of the event loop share one pipelined write: a
  // socket write per click was the largest single cost of a redirect after the page itself, and a
  // transaction per read a fifth of a postback by visitor.
  private async flushScripts(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    let results: Array<[Error | null, unknown]> | null;
    if (isCluster(this.redis)) {
      // A cluster pipeline must stay within one slot, and visitors are spread over all of them: each
      // write goes alone, and the client's auto-pipelining sends one turn's writes per master at once.
      results = await Promise.all(
        batch.map((r) =>
          this.redis.evalsha(r.script.sha, 2, ...r.args).then(
            (value): [Error | null, unknown] => [null, value],
            (error: Error): [Error | null, unknown] => [error, null],
          ),
        ),
      );
    } else {
      const pipeline = this.redis.pipeline();
      for (const r of batch) pipeline.evalsha(r.script.sha, 2, ...r.args);
      try {
        results = await pipeline.exec();
      } catch (error) {
        for (const r of batch) r.reject(error);
        return;
      }
    }
    await Promise.all(
      batch.map(async (r, i) => {
        const error = results?.[i]?.[0] ?? null;
        if (error === null) return r.resolve(results?.[i]?.[1]);
        // A Redis that restarted (or never saw the script) loads it with the first EVAL.
        if (!String(error.message).startsWith("NOSCRIPT")) return r.reject(error);
        try {
          r.resolve(await this.redis.eval(r.script.text, 2, ...r.args));
        } catch (retryError) {
          r.reject(retryError);
        }
      }),
    );
  }

  /** Seconds the session has left (-2 when gone), for tests and debugging. */
  ttl(workspaceId: string, visitorId: string): Promise<number> {
    return this.redis.ttl(this.keys(workspaceId, visitorId).meta);
  }
}
