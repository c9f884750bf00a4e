import type { QueueName, QueueSet } from "@hitrail/queue";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

const JOB_STATES = ["waiting", "active", "delayed", "prioritized", "failed", "completed", "paused"] as const;

/**
 * Prometheus metrics of one worker process, on its own registry (several workers may live in one
 * test process). Queue depths and the outbox backlog are read from Redis and Postgres at scrape time.
 */
export class WorkerMetrics {
  readonly registry = new Registry();

  readonly jobs = new Counter({
    name: "hitrail_worker_jobs_total",
    help: "Jobs finished by this worker, by queue, job name and outcome (completed, failed, retrying).",
    labelNames: ["queue", "job", "outcome"] as const,
    registers: [this.registry],
  });

  readonly postbackAttempts = new Counter({
    name: "hitrail_postback_attempts_total",
    help: "Traffic-source postback attempts by result (delivered, failed, dead) and cause.",
    labelNames: ["result", "cause"] as const,
    registers: [this.registry],
  });

  readonly postbackLatency = new Histogram({
    name: "hitrail_postback_latency_seconds",
    help: "Time from request to response headers of postback attempts.",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly postbacksCancelled = new Counter({
    name: "hitrail_postbacks_cancelled_total",
    help: "Deliveries closed without sending (superseded, conversion rejected before firing, …).",
    registers: [this.registry],
  });

  readonly postbacksDeferred = new Counter({
    name: "hitrail_postbacks_deferred_total",
    help: "Postback jobs put back for a moment because their host had no free slot, or were not due.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  readonly outboxRelayed = new Counter({
    name: "hitrail_outbox_relayed_total",
    help: "Outbox rows handed to BullMQ by this process.",
    registers: [this.registry],
  });

  readonly outboxPoison = new Counter({
    name: "hitrail_outbox_poison_total",
    help: "Outbox rows that could not be enqueued (unknown topic or invalid payload) and were set aside.",
    registers: [this.registry],
  });

  readonly relayErrors = new Counter({
    name: "hitrail_outbox_relay_errors_total",
    help: "Relay passes that failed (Postgres or Redis unavailable); the rows stay and are retried.",
    registers: [this.registry],
  });

  readonly rollupsApplied = new Counter({
    name: "hitrail_rollups_applied_total",
    help: "Conversion rollup jobs by outcome (applied, unchanged, missing).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly rollupsDead = new Counter({
    name: "hitrail_rollups_dead_total",
    help: "Conversion rollup jobs that cannot succeed (a value Postgres refuses) and were dead-lettered instead of retried; alert on any.",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });

  readonly conversionSweeps = new Counter({
    name: "hitrail_conversion_rollup_sweeps_total",
    help: "Conversion rollup sweep passes by outcome (swept, busy: another holds the lock, failed).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly conversionsSwept = new Counter({
    name: "hitrail_conversions_swept_total",
    help: "Conversions whose change the sweep applied to the conversion rollups.",
    registers: [this.registry],
  });

  readonly conversionSweepSeconds = new Histogram({
    name: "hitrail_conversion_rollup_sweep_seconds",
    help: "Duration of conversion rollup sweep passes.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly hitSweeps = new Counter({
    name: "hitrail_hit_rollup_sweeps_total",
    help: "Visit rollup sweep passes by outcome (swept, started, busy: another holds the lock, failed).",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly hitsSwept = new Counter({
    name: "hitrail_hits_swept_total",
    help: "Hits added to the visit rollups by the sweep.",
    registers: [this.registry],
  });

  readonly hitSweepSeconds = new Histogram({
    name: "hitrail_hit_rollup_sweep_seconds",
    help: "Duration of visit rollup sweep passes.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "hitrail_worker_" });
  }

  /** Queue depth per state, read on scrape. */
  watchQueues(queues: QueueSet, names: readonly QueueName[]): void {
    new Gauge({
      name: "hitrail_queue_jobs",
      help: "Jobs in each BullMQ queue by state.",
      labelNames: ["queue", "state"] as const,
      registers: [this.registry],
      async collect() {
        for (const name of names) {
          const counts = await queues.get(name).getJobCounts(...JOB_STATES);
          for (const state of JOB_STATES) this.set({ queue: name, state }, counts[state] ?? 0);
        }
      },
    });
  }

  /** Unrelayed outbox rows and the age of the oldest, read on scrape. */
  watchOutbox(read: () => Promise<{ pending: number; oldestSeconds: number }>): void {
    let last: Promise<{ pending: number; oldestSeconds: number }> | null = null;
    // Both gauges come from one query per scrape.
    const snapshot = () => {
      last ??= read().finally(() => {
        setTimeout(() => {
          last = null;
        }, 0);
      });
      return last;
    };
    new Gauge({
      name: "hitrail_outbox_pending",
      help: "Outbox rows not yet handed to BullMQ.",
      registers: [this.registry],
      async collect() {
        this.set((await snapshot()).pending);
      },
    });
    new Gauge({
      name: "hitrail_outbox_oldest_pending_seconds",
      help: "Age of the oldest outbox row not yet handed to BullMQ (0 when none).",
      registers: [this.registry],
      async collect() {
        this.set((await snapshot()).oldestSeconds);
      },
    });
  }
}
