import { createHash } from "node:crypto";
import { isSessionLive, MAX_SESSION_HITS, type SessionHitRef, type VisitorSession } from "@hitrail/core";
import type { Logger } from "@hitrail/observability";
import { isCluster, type Redis, visitorKeys } from "@hitrail/queue";

type Entry = VisitorSession["entry"];

// One script instead of a MULTI of up to seven commands: this runs on every click, and the client
// side of a transaction (a command object and a reply per step) cost more than Redis's side. And one
// call for all the clicks of a flush, not one each: per call, the tracker builds a command and takes
// a reply, and Redis sets a script run up (a third of the client's cost and a sixth of Redis's per
// click, measured with twenty clicks a flush).
// KEYS: per click its meta hash and hits list. ARGV: max hits, then per click its entry JSON ('' keeps
// the entry), now, hit JSON and ttl.
// Redis runs on the same cores as the tracker: each call the script saves is Redis CPU a click
// no longer costs (the entry and the time in one HSET; the list trimmed only once it is too long).
const RECORD_HITS = `
local max = tonumber(ARGV[1])
for i = 1, #KEYS / 2 do
  local meta, hits, a = KEYS[2 * i - 1], KEYS[2 * i], 4 * i - 2
  local now, ttl = ARGV[a + 1], ARGV[a + 3]
  if ARGV[a] ~= '' then
    redis.call('HSET', meta, 'entry', ARGV[a], 'lastSeenAt', now)
    redis.call('HSETNX', meta, 'createdAt', now)
  else
    redis.call('HSET', meta, 'lastSeenAt', now)
  end
  if redis.call('RPUSH', hits, ARGV[a + 2]) > max then
    redis.call('LTRIM', hits, -max, -1)
  end
  redis.call('EXPIRE', meta, ttl)
  redis.call('EXPIRE', hits, ttl)
end
return #KEYS / 2`;
const RECORD_HITS_SHA = createHash("sha1").update(RECORD_HITS).digest("hex");
/** Clicks per RECORD_HITS call at most: a script holds Redis for as long as it runs. */
const MAX_CLICKS_PER_CALL = 100;

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
  /**
   * Set for a script that takes any number of items, each its own keys and arguments after these
   * leading arguments: consecutive calls of it in a flush travel as one.
   */
  batchArgs?: string[];
}
const recordHitsScript: Script = {
  text: RECORD_HITS,
  sha: RECORD_HITS_SHA,
  batchArgs: [String(MAX_SESSION_HITS)],
};
const getSessionScript: Script = { text: GET_SESSION, sha: GET_SESSION_SHA };

/**
 * Visitor sessions in Redis, one per (workspace, visitor): a hash with the entry data and a list
 * of the journey's hits. Every read or write slides the lifetime (seed: 4 days by default,
 * "they automatically extend when getting activity").
 */
interface PendingScript {
  script: Script;
  keys: string[];
  /** Its own arguments (a batched script's leading arguments are added once per call). */
  args: string[];
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** One script call of a flush and the pending scripts it answers. */
interface ScriptCall {
  script: Script;
  keys: string[];
  args: string[];
  answers: PendingScript[];
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
    const [fields, list] = (await this.run(getSessionScript, [k.meta, k.hits], [String(ttlSeconds)])) as [
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
      opts.entry ? JSON.stringify(opts.entry) : "",
      String(opts.now),
      JSON.stringify(opts.hit),
      String(opts.ttlSeconds),
    ];
    return this.run(recordHitsScript, [k.meta, k.hits], args).then(() => undefined);
  }

  /** Runs a session script with the others of this turn of the event loop (flushScripts). */
  private run(script: Script, keys: string[], args: string[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => void this.flushScripts());
      this.pending.push({ script, keys, args, resolve, reject });
    });
  }

  /**
   * The flush's script calls, in order: consecutive uses of a batched script share one call (in a
   * cluster each stays alone, since visitors are spread over all the slots).
   */
  private calls(batch: PendingScript[], cluster: boolean): ScriptCall[] {
    const calls: ScriptCall[] = [];
    let last: ScriptCall | undefined;
    for (const p of batch) {
      const { batchArgs } = p.script;
      if (
        batchArgs !== undefined &&
        !cluster &&
        last?.script === p.script &&
        last.answers.length < MAX_CLICKS_PER_CALL
      ) {
        last.keys.push(...p.keys);
        last.args.push(...p.args);
        last.answers.push(p);
        continue;
      }
      last = {
        script: p.script,
        keys: [...p.keys],
        args: batchArgs === undefined ? p.args : [...batchArgs, ...p.args],
        answers: [p],
      };
      calls.push(last);
    }
    return calls;
  }

  // Clicks and reads that arrive in the same turn of the event loop share one pipelined write: a
  // socket write per click was the largest single cost of a redirect after the page itself, and a
  // transaction per read a fifth of a postback by visitor.
  private async flushScripts(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const cluster = isCluster(this.redis);
    const calls = this.calls(batch, cluster);
    let results: Array<[Error | null, unknown]> | null;
    if (cluster) {
      // A cluster pipeline must stay within one slot, and visitors are spread over all of them: each
      // write goes alone, and the client's auto-pipelining sends one turn's writes per master at once.
      results = await Promise.all(
        calls.map((c) =>
          this.redis.evalsha(c.script.sha, c.keys.length, ...c.keys, ...c.args).then(
            (value): [Error | null, unknown] => [null, value],
            (error: Error): [Error | null, unknown] => [error, null],
          ),
        ),
      );
    } else {
      const pipeline = this.redis.pipeline();
      for (const c of calls) pipeline.evalsha(c.script.sha, c.keys.length, ...c.keys, ...c.args);
      try {
        results = await pipeline.exec();
      } catch (error) {
        for (const r of batch) r.reject(error);
        return;
      }
    }
    await Promise.all(
      calls.map(async (c, i) => {
        const error = results?.[i]?.[0] ?? null;
        let value = results?.[i]?.[1];
        if (error !== null) {
          // A Redis that restarted (or never saw the script) loads it with the first EVAL.
          if (!String(error.message).startsWith("NOSCRIPT")) {
            for (const r of c.answers) r.reject(error);
            return;
          }
          try {
            value = await this.redis.eval(c.script.text, c.keys.length, ...c.keys, ...c.args);
          } catch (retryError) {
            for (const r of c.answers) r.reject(retryError);
            return;
          }
        }
        // A batched script answers for all its items at once (they only wait for it to have run).
        for (const r of c.answers) r.resolve(value);
      }),
    );
  }

  /** Seconds the session has left (-2 when gone), for tests and debugging. */
  ttl(workspaceId: string, visitorId: string): Promise<number> {
    return this.redis.ttl(this.keys(workspaceId, visitorId).meta);
  }
}
