import { randomUUID } from "node:crypto";
import type { PlanItem } from "@hitrail/conversions";
import type { Logger } from "@hitrail/observability";
import type { Redis } from "@hitrail/queue";

// Deletes the replay lock only if this tracker still holds it.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** What a replay pass did with one spooled postback. */
export type ReplayOutcome = "applied" | "retry";

export interface ConversionSpoolOptions {
  /** How often a tracker looks at the spool while it is not empty. */
  replayIntervalMs: number;
  /** Postbacks per replay transaction. */
  chunk: number;
  /** A postback still answered "retry" after this many passes is set aside (dead-letter stream). */
  maxAttempts: number;
  /** True while something must land first (the hits spooled during the same outage). */
  waitFor: () => Promise<boolean>;
}

const DEFAULTS: ConversionSpoolOptions = {
  replayIntervalMs: 1_000,
  chunk: 256,
  maxAttempts: 60,
  waitFor: async () => false,
};

/**
 * Postbacks received while PostgreSQL is down. Networks often fire a postback once and never retry,
 * so a 503 would lose the conversion: instead the postback, with its hit already resolved (a visitor
 * id is looked up in the session at receive time, as it would have been), is appended to a Redis
 * stream and answered 202 `queued`. After recovery one tracker at a time (a lock in Redis) applies
 * the stream oldest first, in chunks, through the same writer and the same rules; a postback whose
 * log row is already committed (its batch committed after all) is skipped, so each applies once.
 * While the stream is not empty, new postbacks join its tail instead of overtaking it.
 */
export class ConversionSpool {
  readonly key: string;
  private readonly lockKey: string;
  private readonly opts: ConversionSpoolOptions;
  private timer: NodeJS.Timeout | null = null;
  private replaying = false;
  private readonly attempts = new Map<string, number>();
  /** True while this tracker believes the stream holds postbacks not yet applied. */
  pending = false;
  readonly stats = { spooled: 0, replayed: 0, deadLettered: 0 };

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly logger: Logger,
    opts: Partial<ConversionSpoolOptions> = {},
  ) {
    this.key = `${prefix}:spool:conversions`;
    this.lockKey = `${this.key}:lock`;
    this.opts = { ...DEFAULTS, ...opts };
  }

  async add(items: readonly PlanItem[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const item of items) pipeline.xadd(this.key, "*", "item", JSON.stringify(item));
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
    this.pending = true;
    this.stats.spooled += items.length;
    this.start();
  }

  length(): Promise<number> {
    return this.redis.xlen(this.key);
  }

  /** The writer's way of applying a chunk (set once by the writer that owns this spool). */
  attach(apply: (items: PlanItem[]) => Promise<ReplayOutcome[]>): void {
    this.apply = apply;
  }

  private apply: ((items: PlanItem[]) => Promise<ReplayOutcome[]>) | null = null;

  /** Starts the replay timer (idempotent); it stops itself once the stream is empty. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      void this.replayNow().catch((error: unknown) => {
        this.logger.warn({ err: (error as Error).message }, "postback spool replay failed");
      });
    }, this.opts.replayIntervalMs);
    this.timer.unref();
  }

  replayNow(): Promise<number> {
    return this.apply ? this.replay(this.apply) : Promise.resolve(0);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * One pass: while this tracker holds the lock, applies chunks oldest first until the stream is
   * empty or `apply` says the database is away again. Returns how many postbacks it applied.
   */
  async replay(apply: (items: PlanItem[]) => Promise<ReplayOutcome[]>): Promise<number> {
    if (this.replaying) return 0;
    this.replaying = true;
    const token = randomUUID();
    let applied = 0;
    try {
      if (await this.opts.waitFor()) return 0;
      if (!(await this.redis.set(this.lockKey, token, "PX", 60_000, "NX"))) {
        // Another tracker is replaying: this one only learns when the stream is empty.
        await this.refresh();
        return 0;
      }
      try {
        for (;;) {
          const entries = (await this.redis.xrange(this.key, "-", "+", "COUNT", this.opts.chunk)) as Array<
            [string, string[]]
          >;
          if (entries.length === 0) {
            this.pending = false;
            this.stop();
            break;
          }
          const items = entries.map(([, fields]) => JSON.parse(fields[1] ?? "{}") as PlanItem);
          const outcomes = await apply(items);
          const done: string[] = [];
          const dead: Array<[string, PlanItem]> = [];
          entries.forEach(([id], i) => {
            if (outcomes[i] === "applied") {
              done.push(id);
              this.attempts.delete(id);
              return;
            }
            const tries = (this.attempts.get(id) ?? 0) + 1;
            this.attempts.set(id, tries);
            if (tries >= this.opts.maxAttempts) dead.push([id, items[i] as PlanItem]);
          });
          for (const [id, item] of dead) {
            this.logger.error(
              { postbackId: item.postbackId, hitId: item.hitId, attempts: this.opts.maxAttempts },
              "spooled postback could not be applied; moved to the dead-letter stream",
            );
            await this.redis.xadd(`${this.key}:dead`, "*", "item", JSON.stringify(item));
            done.push(id);
            this.attempts.delete(id);
            this.stats.deadLettered++;
          }
          if (done.length > 0) await this.redis.xdel(this.key, ...done);
          const appliedNow = outcomes.filter((o) => o === "applied").length;
          applied += appliedNow;
          this.stats.replayed += appliedNow;
          // Something must wait (the database went away again, or a hit is not stored yet): next pass.
          if (done.length < entries.length) break;
          await this.redis.pexpire(this.lockKey, 60_000);
        }
      } finally {
        await this.redis.eval(RELEASE, 1, this.lockKey, token).catch(() => undefined);
      }
      if (applied > 0) this.logger.info({ postbacks: applied }, "applied spooled postbacks");
      return applied;
    } finally {
      this.replaying = false;
    }
  }

  /** Re-reads whether the stream is empty (another tracker may have drained it, or filled it). */
  async refresh(): Promise<void> {
    this.pending = (await this.length()) > 0;
    if (this.pending) this.start();
    else this.stop();
  }
}
