import {
  type BackfillOutcome,
  backfillRollups,
  type Database,
  type SweepOutcome,
  sweepHitRollups,
} from "@hitrail/db";
import { captureException, type Logger } from "@hitrail/observability";
import type { WorkerMetrics } from "./metrics.ts";

export interface HitSweeperOptions {
  /** Time from the start of one sweep to the start of the next (a visit shows within about this). */
  intervalMs: number;
  /** Longest pause between passes while Postgres keeps failing. */
  maxErrorBackoffMs: number;
  /** Hours one backfill step rebuilds (after an upgrade that added a rollup; see backfillRollups). */
  backfillHours: number;
}

export const DEFAULT_HIT_SWEEPER_OPTIONS: HitSweeperOptions = {
  intervalMs: 1_000,
  maxErrorBackoffMs: 10_000,
  backfillHours: 3,
};

/**
 * The loop that keeps visit rollups seconds behind the hits: every `intervalMs` it adds the hits
 * committed since the last pass (`sweepHitRollups`). Several worker processes may run it: a pass
 * that finds another one (or a rebuild) holding the lock does nothing, and the next pass catches up.
 * After an upgrade that added a rollup, each pass is followed by one bounded backfill step of older
 * hours, until none is left (the sweep's own pass always goes first, so visits stay fresh).
 */
export class HitRollupSweeper {
  private readonly opts: HitSweeperOptions;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** Whether a backfill may be pending: checked once per process start, and after each step. */
  private backfilling = true;

  constructor(
    private readonly deps: { db: Database; logger: Logger; metrics: WorkerMetrics; now: () => number },
    opts: Partial<HitSweeperOptions> = {},
  ) {
    this.opts = { ...DEFAULT_HIT_SWEEPER_OPTIONS, ...opts };
  }

  start(): void {
    this.stopping = false;
    this.loop ??= this.run().finally(() => {
      this.loop = null;
    });
  }

  /** Lets the pass in progress commit (or roll back), then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
  }

  async sweepOnce(): Promise<SweepOutcome> {
    const started = performance.now();
    const outcome = await sweepHitRollups(this.deps.db, { now: new Date(this.deps.now()) });
    this.deps.metrics.hitSweeps.inc({ outcome: outcome.status });
    if (outcome.status === "swept") {
      this.deps.metrics.hitsSwept.inc(outcome.hits);
      this.deps.metrics.hitSweepSeconds.observe((performance.now() - started) / 1_000);
    }
    if (outcome.status === "started") {
      this.deps.logger.info({ hours: outcome.hours, rows: outcome.rows }, "visit rollup sweep started");
    }
    return outcome;
  }

  /** One backfill step, if one may be pending. */
  async backfillOnce(): Promise<BackfillOutcome> {
    if (!this.backfilling) return { status: "idle" };
    const started = performance.now();
    const outcome = await backfillRollups(this.deps.db, { hours: this.opts.backfillHours });
    if (outcome.status === "backfilled") {
      this.deps.logger.info(
        {
          from: outcome.from.toISOString(),
          to: outcome.to.toISOString(),
          rows: outcome.rows,
          remainingHours: outcome.remaining,
          ms: Math.round(performance.now() - started),
        },
        "rollup backfill: rebuilt older hours",
      );
    }
    if (outcome.status === "done") this.deps.logger.info("rollup backfill: done, every hour is rolled up");
    if (outcome.status === "done" || outcome.status === "idle") this.backfilling = false;
    return outcome;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      const started = performance.now();
      try {
        await this.sweepOnce();
        if (this.backfilling && !this.stopping) await this.backfillOnce();
        failures = 0;
      } catch (error) {
        failures++;
        this.deps.metrics.hitSweeps.inc({ outcome: "failed" });
        if (failures === 1 || failures % 50 === 0) {
          this.deps.logger.error({ err: error, failures }, "visit rollup sweep failed; retrying");
          captureException(error, { component: "hit-rollup-sweeper", failures });
        }
        await this.sleep(Math.min(this.opts.maxErrorBackoffMs, 100 * 2 ** failures));
        continue;
      }
      await this.sleep(Math.max(0, this.opts.intervalMs - (performance.now() - started)));
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}
