import {
  type ConversionIdentityRef,
  type DbClient,
  newId,
  type ReceivedPostbackRow,
  runConversionBatch,
} from "@hitrail/db";
import { captureException, type Logger } from "@hitrail/observability";
import { itemIdentityKey, type PlanItem, planBatch } from "./plan.ts";
import type { RecordResult } from "./types.ts";

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
  maxInFlight: 2,
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
 * of two round trips (runConversionBatch): lock the identities and read the hits with their paths
 * and the stored conversions; let core decide each postback in arrival order (plan.ts); write every
 * row in one statement and commit. A postback's promise resolves only after that commit, so whatever
 * is answered 200 is durable.
 *
 * Ordering: postbacks of one identity never run in two batches at once; a later one waits for the
 * batch holding its identity, so "the latest revenue wins" means the latest received. Across
 * processes the advisory locks serialize the same identities.
 */
export class ConversionWriter {
  private queue: Entry[] = [];
  private readonly inFlightKeys = new Set<string>();
  private inFlight = 0;
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly idle = new Set<() => void>();
  private readonly opts: ConversionWriterOptions;
  readonly stats = { batches: 0, items: 0, isolated: 0, failed: 0, maxBatch: 0 };

  constructor(
    private readonly db: Pick<DbClient, "sql">,
    private readonly logger: Logger,
    private readonly now: () => number,
    opts: Partial<ConversionWriterOptions> = {},
    private readonly makeId: () => string = newId,
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** Records one postback whose hit is known; resolves with the answer once committed (or refused). */
  submit(item: PlanItem): Promise<RecordResult> {
    return new Promise((resolve) => {
      this.queue.push({ kind: "convert", item, key: itemIdentityKey(item), resolve });
      this.schedule();
    });
  }

  /** Appends one entry to the postback log in the next batch (rejected requests). */
  log(row: ReceivedPostbackRow): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: "log", row, key: null, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.inFlight >= this.opts.maxInFlight) return; // a finishing batch picks the queue up
    if (this.queue.length >= this.opts.maxBatch) {
      this.flush();
      return;
    }
    if (this.opts.waitMs > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = null;
        this.flush();
      }, this.opts.waitMs);
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.inFlight < this.opts.maxInFlight) {
      const batch = this.take();
      if (batch.length === 0) break;
      this.run(batch);
    }
  }

  /** The next batch: oldest first, skipping (and keeping in order) identities already in flight. */
  private take(): Entry[] {
    const batch: Entry[] = [];
    const rest: Entry[] = [];
    for (const entry of this.queue) {
      if (batch.length >= this.opts.maxBatch || (entry.key !== null && this.inFlightKeys.has(entry.key))) {
        rest.push(entry);
      } else {
        batch.push(entry);
      }
    }
    this.queue = rest;
    return batch;
  }

  private run(batch: Entry[]): void {
    this.inFlight++;
    const keys = new Set<string>();
    for (const e of batch) if (e.key !== null) keys.add(e.key);
    for (const k of keys) this.inFlightKeys.add(k);
    this.stats.batches++;
    this.stats.maxBatch = Math.max(this.stats.maxBatch, batch.length);
    this.commitBatch(batch).finally(() => {
      for (const k of keys) this.inFlightKeys.delete(k);
      this.inFlight--;
      if (this.queue.length > 0) this.schedule();
      else if (this.inFlight === 0) for (const done of this.idle) done();
    });
  }

  private async commitBatch(batch: Entry[]): Promise<void> {
    let answered = false;
    const timeout = setTimeout(() => {
      answered = true;
      this.logger.error({ items: batch.length }, "conversion batch not committed in time");
      settleUnavailable(batch);
    }, this.opts.commitTimeoutMs);
    try {
      const results = await this.transact(batch);
      clearTimeout(timeout);
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
      } else {
        this.logger.warn(
          { err: (error as Error).message, items: batch.length },
          "Postgres unavailable for conversions",
        );
      }
      settleUnavailable(batch, error);
    }
  }

  /** One transaction for the whole batch; returns the answer of each convert entry (null for log entries). */
  private async transact(batch: Entry[]): Promise<Array<RecordResult | null>> {
    const items: PlanItem[] = [];
    const logs: ReceivedPostbackRow[] = [];
    for (const e of batch) {
      if (e.kind === "convert") items.push(e.item);
      else logs.push(e.row);
    }
    const identities: ConversionIdentityRef[] = items.map((i) => ({
      workspaceId: i.command.workspace.workspaceId,
      hitId: i.hitId,
      eventKey: i.command.event?.typeId ?? "",
      tx: i.command.tx ?? "",
    }));
    let results: RecordResult[] = [];
    const workspaceIds = logs.map((l) => l.workspaceId);
    await runConversionBatch(this.db, { identities, workspaceIds }, ({ paths, stored }) => {
      const plan = planBatch({ items, paths, stored, now: this.now(), newId: this.makeId });
      results = plan.results;
      return {
        inserts: plan.inserts,
        updates: plan.updates,
        revisions: plan.revisions,
        touches: plan.touches,
        deliveries: plan.deliveries,
        outbox: plan.outbox,
        postbacks: [...plan.logs, ...logs],
      };
    });
    let next = 0;
    return batch.map((e) => (e.kind === "convert" ? (results[next++] ?? null) : null));
  }

  /** Waits until everything queued is committed (graceful shutdown). */
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
