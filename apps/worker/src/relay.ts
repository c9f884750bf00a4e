import {
  type ClaimedOutboxRow,
  claimOutboxRows,
  claimUnrelayedDeliveries,
  type Database,
  deleteRelayedOutbox,
  markDeliveriesRelayed,
  markOutboxRelayed,
  unrelayRecentOutbox,
} from "@hitrail/db";
import { captureException, type Logger } from "@hitrail/observability";
import {
  deliverJob,
  type EnqueueRequest,
  InvalidJobPayload,
  type JobName,
  jobDefinitions,
  jobIds,
  parseJobPayload,
  type QueueSet,
  type Redis,
  redisServers,
} from "@hitrail/queue";
import { BackgroundLoop } from "./background-loop.ts";
import type { WorkerMetrics } from "./metrics.ts";

export interface RelayOptions {
  /** Rows claimed per pass; a full batch is followed at once by the next pass. */
  batchSize: number;
  /** Pause after a pass that found less than a full batch. */
  idleMs: number;
  /** Relayed rows are kept this long (for inspection and for re-relaying after a Redis loss). */
  retentionMs: number;
  cleanupEveryMs: number;
  /** How often Redis's run_id is compared with the last one seen, to notice a restart. */
  redisCheckEveryMs: number;
  /** After a Redis restart, rows relayed this recently are relayed again (BullMQ drops duplicates). */
  rerelayWindowMs: number;
  /** Longest pause between passes while Postgres or Redis keeps failing. */
  maxErrorBackoffMs: number;
  /** A pass whose enqueue has not finished by then gives up and rolls back (Redis unreachable). */
  enqueueTimeoutMs: number;
}

export const DEFAULT_RELAY_OPTIONS: RelayOptions = {
  batchSize: 500,
  idleMs: 200,
  retentionMs: 86_400_000,
  cleanupEveryMs: 60_000,
  redisCheckEveryMs: 10_000,
  rerelayWindowMs: 5 * 60_000,
  maxErrorBackoffMs: 5_000,
  enqueueTimeoutMs: 10_000,
};

async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  // Once the deadline has won, a late failure of the work must not become an unhandled rejection.
  work.catch(() => undefined);
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

type OutboxSqlRow = ClaimedOutboxRow;

const isJobName = (topic: string): topic is JobName => Object.hasOwn(jobDefinitions, topic);

// BullMQ refuses ids with ':' (its key separator) and all-digit ids (its own counter space); such a
// row would fail the whole batch on every pass, so it is set aside instead.
function badJobId(jobId: string): string | null {
  if (jobId === "") return "empty job id";
  if (jobId.includes(":")) return `job id '${jobId}' contains ':'`;
  if (/^\d+$/.test(jobId)) return `job id '${jobId}' is a bare integer`;
  return null;
}

/**
 * The outbox relay. The tracker writes jobs as outbox rows in the same transaction as the change that
 * needs them; this loop claims unrelayed rows oldest first (FOR UPDATE SKIP LOCKED, so several relays
 * share the work), enqueues them with their stable job ids, and marks them relayed in the same
 * transaction. A crash after the enqueue and before the commit re-enqueues the same ids, which
 * BullMQ ignores. Several worker processes may run it at once. A traffic-source delivery the write
 * path stores is an outbox entry itself (outbound_deliveries.relayed_at): relayed the same way, with
 * no outbox row of its own.
 */
export class OutboxRelay extends BackgroundLoop {
  private readonly opts: RelayOptions;
  private lastCleanup = 0;
  private lastRedisCheck = 0;
  private redisRunId: string | null = null;

  constructor(
    private readonly deps: {
      db: Database;
      queues: QueueSet;
      redis: Redis;
      logger: Logger;
      metrics: WorkerMetrics;
    },
    opts: Partial<RelayOptions> = {},
  ) {
    super();
    this.opts = { ...DEFAULT_RELAY_OPTIONS, ...opts };
  }

  /**
   * One pass: claims up to a batch of outbox rows and a batch of new deliveries (each its own outbox
   * entry, whose job is `deliver-<id>`), enqueues their jobs, marks them relayed.
   */
  async relayOnce(): Promise<{ relayed: number; poison: number; full: boolean }> {
    const { db, queues, logger, metrics } = this.deps;
    const result = await db.transaction(async (tx) => {
      // The delay counts from when the row was written, not from when the relay got to it.
      const rows = await claimOutboxRows(tx, this.opts.batchSize);
      // A new delivery is its own outbox entry: its first job, due at its not_before.
      const deliveries = await claimUnrelayedDeliveries(tx, this.opts.batchSize);
      const claimed = Math.max(rows.length, deliveries.length);
      if (rows.length === 0 && deliveries.length === 0)
        return { relayed: 0, claimed, poison: [] as Array<{ row: OutboxSqlRow; reason: string }> };
      const jobs: EnqueueRequest[] = deliveries.map((d) => {
        const job = deliverJob(d.workspace_id, d.id, jobIds.deliver(d.id), Number(d.delay_left));
        return {
          name: job.topic,
          payload: job.payload,
          opts: { jobId: job.jobId, ...(job.delayMs > 0 ? { delay: job.delayMs } : {}) },
        };
      });
      const poison: Array<{ row: OutboxSqlRow; reason: string }> = [];
      for (const row of rows) {
        const payload = typeof row.payload === "string" ? (JSON.parse(row.payload) as unknown) : row.payload;
        const idProblem = badJobId(row.job_id);
        if (!isJobName(row.topic)) {
          poison.push({ row, reason: `unknown topic '${row.topic}'` });
        } else if (idProblem) {
          poison.push({ row, reason: idProblem });
        } else {
          try {
            const valid = parseJobPayload(row.topic, payload);
            const delay = Number(row.delay_left);
            jobs.push({
              name: row.topic,
              payload: valid,
              opts: { jobId: row.job_id, ...(delay > 0 ? { delay } : {}) },
            } as EnqueueRequest);
          } catch (error) {
            if (!(error instanceof InvalidJobPayload)) throw error;
            poison.push({ row, reason: error.message });
          }
        }
      }
      // While Redis is away its client queues commands instead of failing them; bound the wait so
      // the claimed rows are not held in an open transaction for the whole outage. Commands that
      // still run later only repeat job ids BullMQ already has or will ignore.
      if (jobs.length > 0)
        await withDeadline(queues.enqueueMany(jobs), this.opts.enqueueTimeoutMs, "enqueue");
      await markOutboxRelayed(
        tx,
        rows.map((r) => r.id),
      );
      await markDeliveriesRelayed(
        tx,
        deliveries.map((d) => d.id),
      );
      return { relayed: jobs.length, claimed, poison };
    });
    // Reported after the commit: a poison row is marked relayed (it can never succeed) but kept for
    // a day with its payload, so it can be inspected and written again once fixed.
    for (const { row, reason } of result.poison) {
      logger.error(
        { outboxId: row.id, workspaceId: row.workspace_id, topic: row.topic, reason },
        "outbox row set aside",
      );
      captureException(new Error(`outbox row set aside: ${reason}`), { outboxId: row.id, topic: row.topic });
    }
    metrics.outboxRelayed.inc(result.relayed);
    metrics.outboxPoison.inc(result.poison.length);
    // Either source left rows behind a full claim: the next pass follows at once.
    return {
      relayed: result.relayed,
      poison: result.poison.length,
      full: result.claimed >= this.opts.batchSize,
    };
  }

  /** Deletes relayed rows older than the retention, a bounded number per call. */
  async cleanup(limit = 10_000): Promise<number> {
    return deleteRelayedOutbox(this.deps.db, { retentionMs: this.opts.retentionMs, limit });
  }

  /**
   * Notices a Redis restart (a new run_id) and relays the last few minutes again: with
   * `appendfsync everysec` a crash can lose the last second of writes, and without persistence
   * everything. Jobs that survived are ignored by BullMQ as duplicates. On a cluster every master
   * is asked (a random one would look like a restart on each check), and any one restarting counts.
   */
  async checkRedis(): Promise<boolean> {
    const ids = await Promise.all(
      redisServers(this.deps.redis).map(async (server) => {
        const info = await server.info("server");
        return /run_id:(\w+)/.exec(info)?.[1] ?? null;
      }),
    );
    const runId = ids.includes(null) || ids.length === 0 ? null : ids.sort().join(",");
    const previous = this.redisRunId;
    this.redisRunId = runId;
    if (previous === null || runId === null || previous === runId) return false;
    const rows = await unrelayRecentOutbox(this.deps.db, { windowMs: this.opts.rerelayWindowMs });
    this.deps.logger.warn({ rows }, "Redis restarted: relaying recent outbox rows again");
    return true;
  }

  protected async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      let full = false;
      try {
        const now = Date.now();
        if (now - this.lastRedisCheck >= this.opts.redisCheckEveryMs) {
          this.lastRedisCheck = now;
          await this.checkRedis();
        }
        ({ full } = await this.relayOnce());
        if (now - this.lastCleanup >= this.opts.cleanupEveryMs) {
          this.lastCleanup = now;
          await this.cleanup();
        }
        failures = 0;
      } catch (error) {
        failures++;
        this.deps.metrics.relayErrors.inc();
        // An outage fails every pass: log it once when it starts and every 50 passes after that.
        if (failures === 1 || failures % 50 === 0) {
          this.deps.logger.error({ err: error, failures }, "outbox relay pass failed; retrying");
          captureException(error, { component: "outbox-relay", failures });
        }
        await this.sleep(Math.min(this.opts.maxErrorBackoffMs, 100 * 2 ** failures));
        continue;
      }
      if (!full) await this.sleep(this.opts.idleMs);
    }
  }
}
