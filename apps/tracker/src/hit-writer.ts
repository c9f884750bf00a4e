import type { Database } from "@hitrail/db";
import { schema } from "@hitrail/db";
import type { Logger } from "@hitrail/observability";
import type { Redis } from "@hitrail/queue";

export type HitRow = typeof schema.hits.$inferInsert;
export type WriteOutcome = "committed" | "spooled";

interface Pending {
  row: HitRow;
  resolve: (outcome: WriteOutcome) => void;
  reject: (error: unknown) => void;
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
}

const DEFAULTS: HitWriterOptions = {
  maxBatch: 500,
  waitMs: 2,
  maxInFlight: 4,
  commitTimeoutMs: 3_000,
  replayIntervalMs: 1_000,
};

// SQLSTATE classes that mean "the row is wrong", not "the database is away": spooling those would
// only replay the same failure forever.
const DATA_ERROR = /^(22|23|42)/;

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
  private queue: Pending[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private replayTimer: NodeJS.Timeout | null = null;
  private replaying = false;
  private readonly opts: HitWriterOptions;
  private readonly idle = new Set<() => void>();
  readonly spoolKey: string;
  readonly stats = { committed: 0, spooled: 0, replayed: 0, batches: 0 };

  constructor(
    private readonly db: Database,
    private readonly redis: Redis,
    prefix: string,
    private readonly logger: Logger,
    opts: Partial<HitWriterOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
    this.spoolKey = `${prefix}:spool:hits`;
  }

  write(row: HitRow): Promise<WriteOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.inFlight >= this.opts.maxInFlight) return; // a finishing batch picks the queue up
    if (this.queue.length >= this.opts.maxBatch || this.opts.waitMs === 0) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.opts.waitMs);
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.queue.length === 0 || this.inFlight >= this.opts.maxInFlight) return;
    const batch = this.queue.splice(0, this.opts.maxBatch);
    this.inFlight++;
    this.commit(batch).finally(() => {
      this.inFlight--;
      if (this.queue.length > 0) this.schedule();
      else if (this.inFlight === 0) for (const done of this.idle) done();
    });
  }

  private async commit(batch: Pending[]): Promise<void> {
    const rows = batch.map((p) => p.row);
    try {
      await withTimeout(
        this.db.insert(schema.hits).values(rows).onConflictDoNothing({ target: schema.hits.id }),
        this.opts.commitTimeoutMs,
      );
      this.stats.committed += rows.length;
      this.stats.batches++;
      for (const p of batch) p.resolve("committed");
      return;
    } catch (error) {
      if (isDataError(error)) {
        this.logger.error({ err: error, rows: rows.length }, "hit batch refused by Postgres");
        for (const p of batch) p.reject(error);
        return;
      }
      this.logger.warn(
        { err: (error as Error).message, rows: rows.length },
        "Postgres unavailable: spooling hits",
      );
    }
    try {
      await this.spool(rows);
      this.stats.spooled += rows.length;
      for (const p of batch) p.resolve("spooled");
      this.startReplayer();
    } catch (error) {
      this.logger.error({ err: error, rows: rows.length }, "hits could be neither committed nor spooled");
      for (const p of batch) p.reject(error);
    }
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
      void this.replayOnce().catch((error) =>
        this.logger.warn({ err: (error as Error).message }, "spool replay failed"),
      );
    }, this.opts.replayIntervalMs);
    this.replayTimer.unref();
  }

  /** Moves spooled hits into Postgres, oldest first; returns how many it moved. */
  async replayOnce(batchSize = 1_000): Promise<number> {
    if (this.replaying) return 0;
    this.replaying = true;
    let moved = 0;
    try {
      for (;;) {
        const entries = (await this.redis.xrange(this.spoolKey, "-", "+", "COUNT", batchSize)) as Array<
          [string, string[]]
        >;
        if (entries.length === 0) break;
        const rows = entries.map(([, fields]) => reviveRow(JSON.parse(fields[1] ?? "{}") as HitRow));
        await this.db.insert(schema.hits).values(rows).onConflictDoNothing({ target: schema.hits.id });
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

  spoolLength(): Promise<number> {
    return this.redis.xlen(this.spoolKey);
  }

  /** Flushes what is queued and waits for batches in flight (graceful shutdown). */
  async drain(): Promise<void> {
    this.flush();
    if (this.inFlight === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.idle.delete(done);
        resolve();
      };
      this.idle.add(done);
    });
  }

  stop(): void {
    if (this.replayTimer) clearInterval(this.replayTimer);
    this.replayTimer = null;
  }
}

function reviveRow(row: HitRow): HitRow {
  return { ...row, createdAt: new Date(row.createdAt as unknown as string) };
}

function withTimeout<T>(promise: PromiseLike<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no commit within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
