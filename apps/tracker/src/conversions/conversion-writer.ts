import { commitConversionBatch, itemIdentityKey, type PlanItem } from "@hitrail/conversions";
import { type DbClient, newId, type ReceivedPostbackRow } from "@hitrail/db";
import { captureException, type Logger } from "@hitrail/observability";
import type { DbBreaker } from "../db-breaker.ts";
import { GroupCommit } from "../group-commit.ts";
import type { ConversionSpool, ReplayOutcome } from "./spool.ts";
import type { RecordResult } from "./types.ts";

/** How the writer rides out an outage: the breaker it shares with the click path, and its spool. */
export interface ConversionOutage {
  spool: ConversionSpool;
  breaker?: DbBreaker;
}

export interface ConversionWriterOptions {
  /** Postbacks per transaction. */
  maxBatch: number;
  /**
   * How long the first postback of a batch waits for company. 0 flushes on the next turn of the event
   * loop: under load batches still form, because postbacks queue while every slot is busy.
   */
  waitMs: number;
  /** Transactions in flight at once (each holds one connection). */
  maxInFlight: number;
  /** A batch not committed by then is answered 503; it may still commit, and a retry is idempotent. */
  commitTimeoutMs: number;
}

const DEFAULTS: ConversionWriterOptions = {
  maxBatch: 256,
  waitMs: 0,
  maxInFlight: 1,
  commitTimeoutMs: 10_000,
};

type Entry =
  | { kind: "convert"; item: PlanItem; key: string; resolve: (r: RecordResult) => void }
  | { kind: "log"; row: ReceivedPostbackRow; key: null; resolve: () => void; reject: (e: unknown) => void };

// SQLSTATE classes that mean "this batch is wrong" rather than "the database is away": worth
// retrying item by item so one bad postback cannot fail the others.
const DATA_ERROR = /^(22|23|42|P0)/;

function errorCode(error: unknown): string {
  const e = (error as { cause?: { code?: unknown }; code?: unknown }) ?? {};
  return String(e.cause?.code ?? e.code ?? "");
}

/**
 * True when the batch itself is at fault: Postgres refused its data, or our own code threw (no
 * SQLSTATE and no driver code). Connection failures carry a driver or socket code instead.
 */
function isBatchFault(error: unknown): boolean {
  const code = errorCode(error);
  return code === "" || DATA_ERROR.test(code);
}

const UNAVAILABLE = "could not record the conversion right now (database unavailable); please retry";

/**
 * Group commit for conversions. Postbacks queue for a moment and each batch runs in ONE transaction
 * of two round trips (commitConversionBatch in @hitrail/conversions): lock the identities and read
 * the hits with their paths and the stored conversions; let core decide each postback in arrival
 * order; write every row in one statement and commit. A postback's promise resolves only after that
 * commit, so whatever is answered 200 is durable.
 *
 * Ordering: postbacks of one identity never run in two batches at once; a later one waits for the
 * batch holding its identity, so "the latest revenue wins" means the latest received. Across
 * processes the advisory locks serialize the same identities.
 */
export class ConversionWriter {
  private readonly batches: GroupCommit<Entry>;
  private readonly opts: ConversionWriterOptions;
  readonly stats = { batches: 0, items: 0, isolated: 0, failed: 0, maxBatch: 0 };

  constructor(
    private readonly db: Pick<DbClient, "sql">,
    private readonly logger: Logger,
    private readonly now: () => number,
    opts: Partial<ConversionWriterOptions> = {},
    private readonly makeId: () => string = newId,
    private readonly outage?: ConversionOutage,
  ) {
    this.opts = { ...DEFAULTS, ...opts };
    this.batches = new GroupCommit(
      this.opts,
      (batch) => this.run(batch),
      (entry) => entry.key,
    );
    outage?.spool.attach((items) => this.applyReplay(items));
    outage?.breaker?.onRecovered(() => {
      outage.spool.pending = true;
      outage.spool.start();
    });
  }

  /**
   * Records one postback whose hit is known; resolves with the answer once committed (or refused),
   * or once spooled while the database is down (202 queued).
   */
  submit(item: PlanItem): Promise<RecordResult> {
    if (this.outage && (this.outage.breaker?.isDown || this.outage.spool.pending)) {
      return this.spoolItems([item]).then((results) => results[0] ?? unavailable());
    }
    return new Promise((resolve) => {
      this.batches.add({ kind: "convert", item, key: itemIdentityKey(item), resolve });
    });
  }

  /** Appends one entry to the postback log in the next batch (rejected requests). */
  log(row: ReceivedPostbackRow): Promise<void> {
    return new Promise((resolve, reject) => {
      this.batches.add({ kind: "log", row, key: null, resolve, reject });
    });
  }

  private run(batch: Entry[]): Promise<void> {
    this.stats.batches++;
    this.stats.maxBatch = Math.max(this.stats.maxBatch, batch.length);
    return this.commitBatch(batch);
  }

  private async commitBatch(batch: Entry[]): Promise<void> {
    let answered = false;
    const timeout = setTimeout(() => {
      answered = true;
      this.logger.error({ items: batch.length }, "conversion batch not committed in time");
      this.outage?.breaker?.failed(
        Object.assign(new Error("conversion batch not committed in time"), { code: "ETIMEDOUT" }),
      );
      void this.settleOutage(batch);
    }, this.opts.commitTimeoutMs);
    try {
      const results = await this.transact(batch);
      clearTimeout(timeout);
      this.outage?.breaker?.succeeded();
      if (answered) return;
      this.stats.items += batch.length;
      settle(batch, results);
    } catch (error) {
      clearTimeout(timeout);
      if (answered) return;
      if (isBatchFault(error) && batch.length > 1) {
        // One postback the database refuses must not fail the others: retry each alone, in order.
        this.stats.isolated++;
        this.logger.warn(
          { err: (error as Error).message, items: batch.length },
          "conversion batch refused: isolating",
        );
        for (const entry of batch) await this.commitBatch([entry]);
        return;
      }
      this.stats.failed += batch.length;
      if (isBatchFault(error)) {
        this.logger.error({ err: error }, "conversion could not be recorded");
        captureException(error, { where: "conversion writer" });
        settleUnavailable(batch, error);
        return;
      }
      this.outage?.breaker?.failed(error);
      this.logger.warn(
        { err: (error as Error).message, items: batch.length },
        this.outage
          ? "Postgres unavailable for conversions: spooling"
          : "Postgres unavailable for conversions",
      );
      await this.settleOutage(batch, error);
    }
  }

  /**
   * A batch the database could not take: its postbacks go to the spool and are answered 202 (a
   * batch that commits after all is recognised at replay by its log rows); without a spool, 503.
   * Log-only entries (refusals) are dropped: their answer never depended on them.
   */
  private async settleOutage(batch: Entry[], error?: unknown): Promise<void> {
    const converts = batch.filter((e): e is Extract<Entry, { kind: "convert" }> => e.kind === "convert");
    const results = await this.spoolItems(converts.map((e) => e.item));
    converts.forEach((e, i) => {
      e.resolve(results[i] ?? unavailable());
    });
    for (const e of batch)
      if (e.kind === "log") e.reject(error ?? new Error("postback log not committed in time"));
  }

  private async spoolItems(items: PlanItem[]): Promise<RecordResult[]> {
    if (!this.outage || items.length === 0) return items.map(() => unavailable());
    try {
      await this.outage.spool.add(items);
    } catch (spoolError) {
      this.logger.error(
        { err: (spoolError as Error).message, items: items.length },
        "postbacks could be neither committed nor spooled",
      );
      return items.map(() => unavailable());
    }
    return items.map((item) => ({
      ok: true,
      httpStatus: 202,
      outcome: "queued",
      conversion: null,
      reason:
        "the database is unavailable: this postback is kept and will be applied in arrival order once it is back",
      notes: item.command.notes,
      postbackId: item.postbackId,
    }));
  }

  /**
   * Applies spooled postbacks oldest first in one transaction (the spool calls this after recovery).
   * Postbacks whose log row is already committed are skipped; one the database refuses is tried
   * alone so it cannot hold the others back; "hit not stored yet" waits for the next pass.
   */
  async applyReplay(items: PlanItem[]): Promise<ReplayOutcome[]> {
    let results: Array<RecordResult | null>;
    let recorded = new Set<string>();
    try {
      ({ results, recorded } = await this.transactItems(items, true));
      this.outage?.breaker?.succeeded();
    } catch (error) {
      if (isBatchFault(error) && items.length > 1) {
        const outcomes: ReplayOutcome[] = [];
        for (const item of items) outcomes.push(...(await this.applyReplay([item])));
        return outcomes;
      }
      if (isBatchFault(error)) {
        this.logger.error({ err: error, postbackId: items[0]?.postbackId }, "spooled postback refused");
        captureException(error, { where: "conversion spool replay" });
        return items.map(() => "applied"); // nothing to retry: the database refuses it for good
      }
      this.outage?.breaker?.failed(error);
      return items.map(() => "retry");
    }
    return items.map((item, i) => {
      if (recorded.has(item.postbackId)) return "applied";
      const r = results[i];
      return r && !r.ok && r.httpStatus === 503 ? "retry" : "applied";
    });
  }

  /** One transaction for the whole batch; returns the answer of each convert entry (null for log entries). */
  private async transact(batch: Entry[]): Promise<Array<RecordResult | null>> {
    const items: PlanItem[] = [];
    const logs: ReceivedPostbackRow[] = [];
    for (const e of batch) {
      if (e.kind === "convert") items.push(e.item);
      else logs.push(e.row);
    }
    const { results } = await this.transactItems(items, false, logs);
    let next = 0;
    return batch.map((e) => (e.kind === "convert" ? (results[next++] ?? null) : null));
  }

  /** The batch transaction; a replay also learns which of its postbacks were already recorded. */
  private transactItems(
    items: PlanItem[],
    replay: boolean,
    logs: ReceivedPostbackRow[] = [],
  ): Promise<{ results: Array<RecordResult | null>; recorded: Set<string> }> {
    return commitConversionBatch(this.db, { items, logs, replay, now: this.now, newId: this.makeId });
  }

  /** Waits until everything queued is committed (graceful shutdown). */
  drain(): Promise<void> {
    return this.batches.drain();
  }
}
function settle(batch: Entry[], results: Array<RecordResult | null>): void {
  batch.forEach((e, i) => {
    if (e.kind === "log") e.resolve();
    else {
      const r = results[i];
      e.resolve(r ?? unavailable());
    }
  });
}

function settleUnavailable(batch: Entry[], error?: unknown): void {
  for (const e of batch) {
    if (e.kind === "log") e.reject(error ?? new Error("postback log not committed in time"));
    else e.resolve(unavailable());
  }
}

function unavailable(): RecordResult {
  return {
    ok: false,
    httpStatus: 503,
    outcome: "rejected",
    error: UNAVAILABLE,
    notes: [],
    postbackId: null,
    retryAfterSeconds: 5,
  };
}
