import { type Database, type HitRow, insertHits } from "@hitrail/db";
import type { Logger } from "@hitrail/observability";
import type { Redis } from "@hitrail/queue";
import { type DbBreaker, withDeadline } from "./db-breaker.ts";
import { GroupCommit } from "./group-commit.ts";

export type { HitRow };
export type WriteOutcome = "committed" | "spooled";

interface Pending {
  row: HitRow;
  resolve: (outcome: WriteOutcome) => void;
  reject: (error: unknown) => void;
  settled?: boolean;
}

export interface HitWriterOptions {
  /** Rows per multi-row INSERT. */
  maxBatch: number;
  /** How long the first row of a batch waits for company (group commit window). */
  waitMs: number;
  /** Batches in flight at once; beyond that, rows queue up and batches grow instead. */
  maxInFlight: number;
  /** A batch not committed by then is spooled (the database is hanging rather than refusing). */
  commitTimeoutMs: number;
  /** How often the replayer looks at the spool. */
  replayIntervalMs: number;
  /**
   * After Postgres failed to take a batch, batches go straight to the spool for this long instead
   * of each waiting for its own failure (a connect timeout can take seconds); the replayer keeps
   * probing meanwhile and reopens the direct path as soon as it gets through.
   */
  retryAfterMs: number;
}

const DEFAULTS: HitWriterOptions = {
  maxBatch: 500,
  waitMs: 2,
  maxInFlight: 4,
  commitTimeoutMs: 1_000,
  replayIntervalMs: 1_000,
  retryAfterMs: 1_000,
};

// SQLSTATE classes that mean "the row is wrong", not "the database is away": spooling those would
// only replay the same failure forever.
const DATA_ERROR = /^(22|23|42)/;

/**
 * The driver's own words for a failure: drizzle wraps them in a message that repeats the whole
 * statement and its parameters (visitors' IPs and user agents have no place in a log line).
 */
function reason(error: unknown): { err: string; code?: string } {
  const e = (error ?? {}) as {
    cause?: { message?: unknown; code?: unknown };
    message?: unknown;
    code?: unknown;
  };
  const inner = e.cause ?? e;
  const code = inner.code ?? e.code;
  return { err: String(inner.message ?? error), ...(code === undefined ? {} : { code: String(code) }) };
}

function isDataError(error: unknown): boolean {
  const e = (error as { cause?: { code?: unknown }; code?: unknown }) ?? {};
  const code = String(e.cause?.code ?? e.code ?? "");
  return DATA_ERROR.test(code);
}

/**
 * Group commit for hits. `write` resolves only when the hit is safe: committed in Postgres, or —
 * while Postgres is unreachable — appended to a Redis stream that the replayer moves into the
 * table in order once it is back. Replays use ON CONFLICT DO NOTHING on the hit id, so a batch
 * that did commit after its timeout fired is never doubled.
 */
export class HitWriter {
  private readonly batches: GroupCommit<Pending>;
  private replayTimer: NodeJS.Timeout | null = null;
  private replaying = false;
  /** Until then (epoch ms) batches skip Postgres and go to the spool. */
  private unreachableUntil = 0;
  private readonly opts: HitWriterOptions;
  readonly spoolKey: string;
  readonly stats = { committed: 0, spooled: 0, replayed: 0, batches: 0 };

  constructor(
    private readonly db: Database,
    private readonly redis: Redis,
    prefix: string,
    private readonly logger: Logger,
    opts: Partial<HitWriterOptions> = {},
    /** Shared with the rest of the click path: once any part saw the database down, hits spool at once. */
    private readonly breaker?: DbBreaker,
  ) {
    this.opts = { ...DEFAULTS, ...opts };
    breaker?.onRecovered(() => {
      void this.replayOnce().catch((error) => this.logger.warn(reason(error), "spool replay failed"));
    });
    this.opts.maxBatch = Math.max(1, this.opts.maxBatch);
    this.spoolKey = `${prefix}:spool:hits`;
    this.batches = new GroupCommit(this.opts, (batch) => this.commit(batch));
  }

  write(row: HitRow): Promise<WriteOutcome> {
    return new Promise((resolve, reject) => {
      this.batches.add({ row, resolve, reject });
    });
  }

  private async commit(batch: Pending[]): Promise<void> {
    if (Date.now() >= this.unreachableUntil && !this.breaker?.isDown) {
      try {
        await this.insertIsolating(batch);
        this.breaker?.succeeded();
        return;
      } catch (error) {
        this.unreachableUntil = Date.now() + this.opts.retryAfterMs;
        this.breaker?.failed(error);
        this.logger.warn({ ...reason(error), rows: batch.length }, "Postgres unavailable: spooling hits");
      }
    }
    const rest = batch.filter((p) => !p.settled);
    if (rest.length === 0) return;
    try {
      await this.spool(rest.map((p) => p.row));
      this.stats.spooled += rest.length;
      for (const p of rest) p.resolve("spooled");
      this.startReplayer();
    } catch (error) {
      this.logger.error({ err: error, rows: rest.length }, "hits could be neither committed nor spooled");
      for (const p of rest) p.reject(error);
    }
  }

  /**
   * Inserts a batch; when Postgres refuses a row as wrong, halves the batch until the culprit is
   * alone, so one bad row fails only its own request and never its batch-mates. Throws only when
   * Postgres is unreachable (the rows not yet settled are then spooled by the caller).
   */
  private async insertIsolating(batch: Pending[]): Promise<void> {
    try {
      await withDeadline(this.insert(batch.map((p) => p.row)), this.opts.commitTimeoutMs);
    } catch (error) {
      if (!isDataError(error)) throw error;
      if (batch.length === 1) {
        const [p] = batch as [Pending];
        this.logger.error({ ...reason(error), hitId: p.row.id }, "hit refused by Postgres");
        p.settled = true;
        p.reject(error);
        return;
      }
      const mid = batch.length >> 1;
      await this.insertIsolating(batch.slice(0, mid));
      await this.insertIsolating(batch.slice(mid));
      return;
    }
    this.stats.committed += batch.length;
    this.stats.batches++;
    for (const p of batch) {
      p.settled = true;
      p.resolve("committed");
    }
  }

  private insert(rows: HitRow[]): Promise<unknown> {
    return insertHits(this.db, rows);
  }

  private async spool(rows: HitRow[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const row of rows) pipeline.xadd(this.spoolKey, "*", "hit", JSON.stringify(row));
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  /** Starts the background replayer (idempotent). */
  startReplayer(): void {
    if (this.replayTimer) return;
    this.replayTimer = setInterval(() => {
      void this.replayOnce().catch((error) => this.logger.warn(reason(error), "spool replay failed"));
    }, this.opts.replayIntervalMs);
    this.replayTimer.unref();
  }

  /** Moves spooled hits into Postgres, oldest first; returns how many it moved. */
  async replayOnce(batchSize = 1_000): Promise<number> {
    // While the breaker is open its probe watches the database, and its recovery starts a replay.
    if (this.replaying || this.breaker?.isDown) return 0;
    this.replaying = true;
    let moved = 0;
    try {
      for (;;) {
        const entries = (await this.redis.xrange(this.spoolKey, "-", "+", "COUNT", batchSize)) as Array<
          [string, string[]]
        >;
        if (entries.length === 0) break;
        const rows = entries.map(([, fields]) => reviveRow(JSON.parse(fields[1] ?? "{}") as HitRow));
        try {
          // A hung statement would stop the replayer for good; if it commits after all, the next
          // pass finds the rows already there.
          await withDeadline(this.insert(rows), this.opts.commitTimeoutMs * 3);
        } catch (error) {
          if (!isDataError(error)) {
            this.breaker?.failed(error);
            throw error;
          }
          await this.replayOneByOne(rows);
        }
        // Postgres took a batch: new hits may go to it directly again.
        this.unreachableUntil = 0;
        this.breaker?.succeeded();
        await this.redis.xdel(this.spoolKey, ...entries.map(([id]) => id));
        moved += rows.length;
        this.stats.replayed += rows.length;
      }
      if (moved > 0) this.logger.info({ hits: moved }, "replayed spooled hits");
    } finally {
      this.replaying = false;
    }
    return moved;
  }

  // A row Postgres refuses as wrong would otherwise block the spool's head forever: it is set aside
  // in a dead-letter stream (with the reason) and the rest moves on.
  private async replayOneByOne(rows: HitRow[]): Promise<void> {
    for (const row of rows) {
      try {
        await this.insert([row]);
      } catch (error) {
        if (!isDataError(error)) throw error;
        const why = reason(error);
        this.logger.error(
          { ...why, hitId: row.id },
          "spooled hit refused by Postgres; moved to the dead-letter stream",
        );
        await this.redis.xadd(`${this.spoolKey}:dead`, "*", "hit", JSON.stringify(row), "error", why.err);
      }
    }
  }

  spoolLength(): Promise<number> {
    return this.redis.xlen(this.spoolKey);
  }

  /** Flushes what is queued and waits for batches in flight (graceful shutdown). */
  drain(): Promise<void> {
    return this.batches.drain();
  }

  stop(): void {
    if (this.replayTimer) clearInterval(this.replayTimer);
    this.replayTimer = null;
  }
}

function reviveRow(row: HitRow): HitRow {
  return { ...row, createdAt: new Date(row.createdAt as unknown as string) };
}
