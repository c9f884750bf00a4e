import { ConfigError, type Env, requireEnv } from "@hitrail/config";
import { createDb, outboxBacklog, ping } from "@hitrail/db";
import { createLogger, isTransientError, Lifecycle, type Logger } from "@hitrail/observability";
import {
  bullPrefix,
  createBackoffStrategy,
  createQueues,
  createRedis,
  DEFAULT_POSTBACK_SCHEDULE,
  isCluster,
  QUEUE_NAMES,
  type QueueName,
  type QueueSet,
  type RetrySchedule,
  watchRedis,
} from "@hitrail/queue";
import { UnrecoverableError, Worker } from "bullmq";
import type { FastifyInstance } from "fastify";
import { WorkerMetrics } from "./metrics.ts";
import { DestinationCache, HostLimiter } from "./postbacks/host-limiter.ts";
import { allowListProblems, createPostbackSender } from "./postbacks/sender.ts";
import { createProcessor, type JobHandlers } from "./processors/base.ts";
import { runImportJob } from "./processors/imports.ts";
import { ensurePartitions, reconcileDeliveries } from "./processors/maintenance.ts";
import { deliverPostback } from "./processors/postback-deliver.ts";
import { applyConversion, rebuildRecentHits } from "./processors/rollups.ts";
import { importsQueueConfig } from "./queues/imports.config.ts";
import { maintenanceQueueConfig } from "./queues/maintenance.config.ts";
import { postbacksQueueConfig } from "./queues/postbacks.config.ts";
import { rollupsQueueConfig } from "./queues/rollups.config.ts";
import type { QueueConfig } from "./queues/types.ts";
import { OutboxRelay, type RelayOptions } from "./relay.ts";
import { buildAdminServer } from "./server.ts";
import { RollupSweepLoop, type SweepLoopOptions } from "./sweep-loop.ts";

export interface PostbackOptions {
  /** Retry delays; tests pass milliseconds. */
  schedule?: Partial<RetrySchedule>;
  /** Whole-request deadline (default 10 s). */
  timeoutMs?: number;
  /** Concurrent requests per destination host (default WORKER_POSTBACK_HOST_CONCURRENCY). */
  hostConcurrency?: number;
  /** Job concurrency (default WORKER_POSTBACK_CONCURRENCY). */
  concurrency?: number;
  /** Put-back delay range for a job whose host is busy (default 0.5–1.5 s). */
  busyDelayMs?: readonly [number, number];
  /** How long an endpoint may fail every attempt before it is disabled (default from the env). */
  endpointDisableAfterMs?: number;
}

export interface WorkerOptions {
  logger?: Logger;
  lifecycle?: Lifecycle;
  /** Admin server port (default WORKER_PORT; 0 picks a free one); false runs no admin server. */
  port?: number | false;
  /** Queues to consume (default WORKER_QUEUES, and all queues when that is empty). */
  queues?: readonly QueueName[];
  /** Run the outbox relay (default WORKER_RELAY), optionally with its options. */
  relay?: boolean | Partial<RelayOptions>;
  /**
   * Run the rollup sweep loop, conversions and visits (default: when the rollups queue is consumed),
   * optionally with its options; tests drive `sweeper.sweepHitsOnce()` and
   * `sweeper.sweepConversionsOnce()` themselves with false.
   */
  sweep?: boolean | Partial<SweepLoopOptions>;
  /** Register the repeating jobs of the consumed queues (default true). */
  schedules?: boolean;
  postbacks?: PostbackOptions;
  now?: () => number;
}

export interface RunningWorker {
  /** The admin server's URL, when it runs. */
  url: string | undefined;
  queues: QueueSet;
  consumed: readonly QueueName[];
  relay: OutboxRelay | null;
  /** The rollup sweep loop (also when it is off: `sweepHitsOnce`, `sweepConversionsOnce` run one pass). */
  sweeper: RollupSweepLoop;
  metrics: WorkerMetrics;
  close: () => Promise<void>;
}

const REQUEST_TIMEOUT_MS = 10_000;

/** Parses a queue list (WORKER_QUEUES); empty means every queue. */
export function resolveQueues(list: readonly string[]): QueueName[] {
  if (list.length === 0) return [...QUEUE_NAMES];
  const unknown = list.filter((q) => !(QUEUE_NAMES as readonly string[]).includes(q));
  if (unknown.length > 0) {
    throw new ConfigError([
      `WORKER_QUEUES names unknown queues (${unknown.join(", ")}); known: ${QUEUE_NAMES.join(", ")}`,
    ]);
  }
  return [...new Set(list)] as QueueName[];
}

/**
 * Connects everything the worker needs and starts consuming: Postgres, Redis, one BullMQ worker per
 * selected queue, the outbox relay, the repeating jobs and the admin server. Throws on any start-up
 * failure after closing what it had opened.
 */
export async function startWorker(env: Env, opts: WorkerOptions = {}): Promise<RunningWorker> {
  const ready = requireEnv(env, ["DATABASE_URL", "MAINTENANCE_DATABASE_URL", "REDIS_URL"]);
  const consumed = resolveQueues(opts.queues ?? env.WORKER_QUEUES);
  const allowProblems = allowListProblems(env.OUTBOUND_ALLOW_CIDRS);
  if (allowProblems.length > 0) throw new ConfigError(allowProblems);

  const logger = opts.logger ?? createLogger({ name: "worker", level: env.LOG_LEVEL });
  const lifecycle = opts.lifecycle ?? new Lifecycle(logger);
  const now = opts.now ?? Date.now;
  // Closers of what is open so far, run in reverse if start-up fails half way.
  const opened: Array<() => Promise<void> | void> = [];
  const unwind = async () => {
    for (const close of opened.reverse())
      await Promise.resolve()
        .then(close)
        .catch(() => undefined);
  };

  try {
    // Jobs of one workspace run as the apps' role under that workspace's row-level security; the
    // sweeps across workspaces (outbox relay, visit rollups, partitions, overdue deliveries) run on
    // a small pool of the maintenance role, and nothing else does (docs/security-tenancy.md).
    const db = createDb(ready.DATABASE_URL, { max: 20, applicationName: "hitrail-worker" });
    opened.push(() => db.close());
    await ping(db.sql);
    const maintenance = createDb(ready.MAINTENANCE_DATABASE_URL, {
      max: 4,
      applicationName: "hitrail-worker-maintenance",
    });
    opened.push(() => maintenance.close());
    await ping(maintenance.sql);
    const redis = createRedis(ready.REDIS_URL);
    watchRedis(redis, logger, "worker");
    opened.push(async () => void (await redis.quit()));
    await redis.ping();
    const queues = createQueues(redis, env.REDIS_PREFIX);
    opened.push(() => queues.close());

    const metrics = new WorkerMetrics();
    metrics.watchQueues(queues, QUEUE_NAMES);
    // The backlog spans workspaces: read on the maintenance role, which row-level security lets see it.
    metrics.watchOutbox(() => outboxBacklog(maintenance.db));

    const timeoutMs = opts.postbacks?.timeoutMs ?? REQUEST_TIMEOUT_MS;
    const sender = createPostbackSender({ allowCidrs: env.OUTBOUND_ALLOW_CIDRS, timeoutMs });
    opened.push(() => sender.close());
    const schedule: RetrySchedule = { ...DEFAULT_POSTBACK_SCHEDULE, ...opts.postbacks?.schedule };

    const handlers: Record<QueueName, JobHandlers> = {
      postbacks: {
        "postback.deliver": deliverPostback({
          db: db.db,
          sender,
          limiter: new HostLimiter(opts.postbacks?.hostConcurrency ?? env.WORKER_POSTBACK_HOST_CONCURRENCY),
          destinations: new DestinationCache(),
          metrics,
          schedule,
          now,
          leaseMs: timeoutMs + 5_000,
          slotWaitMs: 250,
          busyDelayMs: opts.postbacks?.busyDelayMs ?? [500, 1_500],
          endpointDisableAfterMs:
            opts.postbacks?.endpointDisableAfterMs ?? env.POSTBACK_ENDPOINT_DISABLE_AFTER_HOURS * 3_600_000,
        }),
      },
      rollups: {
        "rollup.conversion": applyConversion({ db: db.db, metrics }),
        "rollup.hits": rebuildRecentHits({ db: maintenance.db, now }),
      },
      imports: {
        "import.run": runImportJob({ db, logger }),
      },
      maintenance: {
        "maintenance.partitions": ensurePartitions({
          db: maintenance.db,
          postbackLogRetentionDays: env.POSTBACK_LOG_RETENTION_DAYS,
        }),
        "maintenance.deliveries": reconcileDeliveries({ db: maintenance.db, queues, now }),
      },
    };
    const configs: Record<QueueName, QueueConfig> = {
      postbacks: {
        ...postbacksQueueConfig(env),
        ...(opts.postbacks?.concurrency ? { concurrency: opts.postbacks.concurrency } : {}),
      },
      rollups: rollupsQueueConfig(),
      imports: importsQueueConfig(),
      maintenance: maintenanceQueueConfig(),
    };

    const backoffStrategy = createBackoffStrategy({ postback: schedule });
    const workers: Worker[] = [];
    opened.push(() => Promise.all(workers.map((w) => w.close())).then(() => undefined));
    for (const name of consumed) {
      const config = configs[name];
      const worker = new Worker(name, createProcessor(name, handlers[name], logger), {
        connection: redis,
        prefix: bullPrefix(env.REDIS_PREFIX, isCluster(redis)),
        concurrency: config.concurrency,
        lockDuration: config.lockDuration,
        stalledInterval: config.stalledInterval,
        maxStalledCount: config.maxStalledCount,
        ...(config.limiter ? { limiter: config.limiter } : {}),
        settings: { backoffStrategy },
      });
      worker.on("completed", (job) => metrics.jobs.inc({ queue: name, job: job.name, outcome: "completed" }));
      worker.on("failed", (job, error) => {
        const retrying =
          job !== undefined &&
          !(error instanceof UnrecoverableError) &&
          job.attemptsMade < (job.opts.attempts ?? 1);
        metrics.jobs.inc({
          queue: name,
          job: job?.name ?? "unknown",
          outcome: retrying ? "retrying" : "failed",
        });
      });
      worker.on("stalled", (jobId) =>
        logger.warn({ queue: name, jobId }, "job stalled: handed to another worker"),
      );
      worker.on("error", (error) => {
        // Redis going away is one line from watchRedis, not one per reconnect attempt per queue.
        if (isTransientError(error)) return;
        logger.error({ err: error, queue: name }, "queue worker error");
      });
      workers.push(worker);
    }

    const relayOptions = typeof opts.relay === "object" ? opts.relay : {};
    const relay =
      (opts.relay ?? env.WORKER_RELAY) !== false
        ? new OutboxRelay({ db: maintenance.db, queues, redis, logger, metrics }, relayOptions)
        : null;
    if (relay) {
      relay.start();
      opened.push(() => relay.stop());
    }

    // Visits and conversions reach the rollups through the sweeps, a fraction of a second after they
    // commit; the sweeps run on the maintenance role because they read every workspace's rows at once.
    const sweeper = new RollupSweepLoop(
      { db: maintenance.db, logger, metrics, now },
      typeof opts.sweep === "object" ? opts.sweep : {},
    );
    if (consumed.includes("rollups") && opts.sweep !== false) {
      sweeper.start();
      opened.push(() => sweeper.stop());
    }

    if (opts.schedules !== false) {
      if (consumed.includes("rollups")) {
        // The sweep replaced the every-minute rebuild of the current and previous hour; a deployment
        // upgraded from it still has that scheduler in Redis.
        await queues.get("rollups").removeJobScheduler("rollup-hits-recent");
        // The last two days once a night, as of the sweep's watermark: a cross-check that also
        // counts hits an older tracker wrote without ingest_xid during a rolling upgrade.
        await queues.schedule(
          "rollup-hits-nightly",
          "rollup.hits",
          { hours: 48 },
          { pattern: "40 3 * * *", tz: "UTC" },
        );
      }
      if (consumed.includes("maintenance")) {
        await queues.schedule(
          "hit-partitions-daily",
          "maintenance.partitions",
          {},
          { pattern: "17 3 * * *", tz: "UTC" },
        );
        await queues.schedule("deliveries-reconcile", "maintenance.deliveries", {}, { every: 15 * 60_000 });
      }
    }

    let server: FastifyInstance | null = null;
    let url: string | undefined;
    const port = opts.port ?? env.WORKER_PORT;
    if (port !== false) {
      const admin = await buildAdminServer({
        logger,
        metrics,
        queues: QUEUE_NAMES.map((q) => queues.get(q)),
        adminToken: env.WORKER_ADMIN_TOKEN,
        readiness: {
          postgres: async () => {
            await ping(db.sql);
            await ping(maintenance.sql);
          },
          redis: async () => void (await redis.ping()),
          workers: async () => {
            const stopped = workers.filter((w) => !w.isRunning()).map((w) => w.name);
            if (stopped.length > 0) throw new Error(`not consuming: ${stopped.join(", ")}`);
          },
        },
      });
      opened.push(() => admin.close());
      url = await admin.listen({ host: env.HOST, port });
      server = admin;
    }

    // Shutdown: stop answering, stop relaying, let in-flight jobs finish (worker.close() waits for
    // them; a job still running at the deadline keeps its lock, expires and is picked up again by
    // another worker as stalled), then close the connections.
    if (server) lifecycle.onShutdown("admin http", () => server.close());
    if (relay) lifecycle.onShutdown("outbox relay", () => relay.stop());
    lifecycle.onShutdown("rollup sweeps", () => sweeper.stop());
    lifecycle.onShutdown("queue workers", async () => {
      await Promise.all(workers.map((w) => w.close()));
    });
    lifecycle.onShutdown("postback sender", () => sender.close());
    lifecycle.onShutdown("queues", () => queues.close());
    lifecycle.onShutdown("redis", async () => void (await redis.quit()));
    lifecycle.onShutdown("postgres", async () => {
      await db.close();
      await maintenance.close();
    });

    logger.info({ queues: consumed, relay: relay !== null, url }, "worker started");
    return { url, queues, consumed, relay, sweeper, metrics, close: () => lifecycle.shutdown("close") };
  } catch (error) {
    await unwind();
    throw error;
  }
}
