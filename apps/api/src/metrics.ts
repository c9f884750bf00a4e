import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";

/**
 * Prometheus metrics of one api process, on its own registry (several apis may live in one test
 * process). Served on /metrics, which the edge (Caddy) never routes: only /trpc/* is public.
 */
export class ApiMetrics {
  readonly registry = new Registry();

  readonly reads = new Counter({
    name: "hitrail_api_reads_total",
    help: "Read-only procedures by the database that served them (replica, primary) and why the primary (replica_off, read_your_writes, session_unknown, lagging, unreachable, not_a_replica, failed).",
    labelNames: ["target", "reason"] as const,
    registers: [this.registry],
  });

  readonly replicaFallbacks = new Counter({
    name: "hitrail_api_replica_fallbacks_total",
    help: "Reads sent to the primary because the replica was lagging past the bound, unreachable, not a standby, or failed the read (then run again on the primary).",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "hitrail_api_" });
  }

  /** The replica's lag as last measured (measured again on scrape when stale). */
  watchReplica(read: () => Promise<{ lagSeconds: number; lagBytes: number } | null>): void {
    new Gauge({
      name: "hitrail_api_replica_lag_seconds",
      help: "Age of the newest transaction the read replica has replayed while it is behind (0 when caught up; -1 when unreachable).",
      registers: [this.registry],
      async collect() {
        const lag = await read();
        this.set(lag ? lag.lagSeconds : -1);
      },
    });
    new Gauge({
      name: "hitrail_api_replica_lag_bytes",
      help: "WAL the primary had written that the read replica had not replayed (-1 when unreachable).",
      registers: [this.registry],
      async collect() {
        const lag = await read();
        this.set(lag ? lag.lagBytes : -1);
      },
    });
  }
}
