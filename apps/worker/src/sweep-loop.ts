import {
  type BackfillOutcome,
  backfillRollups,
  type ConversionSweepOutcome,
  type Database,
  type SweepOutcome,
  sweepConversionRollups,
  sweepHitRollups,
} from "@hitrail/db";
import { captureException, type Logger } from "@hitrail/observability";
import { BackgroundLoop } from "./background-loop.ts";
import type { WorkerMetrics } from "./metrics.ts";

export interface SweepLoopOptions {
  /**
   * Time from the start of one pass to the start of the next (a visit or a conversion shows within
   * about this).
   */
  intervalMs: number;
  /** Longest pause between passes while Postgres keeps failing. */
  maxErrorBackoffMs: number;
  /** Hours one backfill step rebuilds (after an upgrade that added a rollup; see backfillRollups). */
  backfillHours: number;
}

export const DEFAULT_SWEEP_LOOP_OPTIONS: SweepLoopOptions = {
  intervalMs: 200,
  maxErrorBackoffMs: 10_000,
  backfillHours: 3,
};

/**
 * The loop that keeps the rollups a fraction of a second behind the raw rows: every `intervalMs` it
 * applies the conversion changes committed since the last pass (`sweepConversionRollups`), then adds
 * the hits (`sweepHitRollups`). Several worker processes may run it: a sweep that finds another one
 * (or a rebuild) holding its lock does nothing, and the next pass catches up. After an upgrade that
 * added a rollup, each pass is followed by one bounded backfill step of older hours, until none is
 * left (the sweeps always go first, so reports stay fresh). The two sweeps fail apart: one that keeps
 * failing does not stop the other (the loop only slows to its error backoff).
 */
export class RollupSweepLoop extends BackgroundLoop {
  private readonly opts: SweepLoopOptions;
  /** Whether a backfill may be pending: checked once per process start, and after each step. */
  private backfilling = true;

  constructor(
    private readonly deps: { db: Database; logger: Logger; metrics: WorkerMetrics; now: () => number },
    opts: Partial<SweepLoopOptions> = {},
  ) {
    super();
    this.opts = { ...DEFAULT_SWEEP_LOOP_OPTIONS, ...opts };
  }

  /** One pass of the conversion rollup sweep. */
  async sweepConversionsOnce(): Promise<ConversionSweepOutcome> {
    const started = performance.now();
    const outcome = await sweepConversionRollups(this.deps.db);
    this.deps.metrics.conversionSweeps.inc({ outcome: outcome.status });
    if (outcome.status === "swept") {
      this.deps.metrics.conversionsSwept.inc(outcome.conversions);
      this.deps.metrics.conversionSweepSeconds.observe((performance.now() - started) / 1_000);
    }
    return outcome;
  }

  /** One pass of the visit rollup sweep. */
  async sweepHitsOnce(): Promise<SweepOutcome> {
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

  protected async run(): Promise<void> {
    const failures = { conversions: 0, hits: 0 };
    while (!this.stopping) {
      const started = performance.now();
      const conversionsOk = await this.guarded("conversions", failures, () => this.sweepConversionsOnce());
      const hitsOk =
        !this.stopping &&
        (await this.guarded("hits", failures, async () => {
          await this.sweepHitsOnce();
          if (this.backfilling && !this.stopping) await this.backfillOnce();
        }));
      if (!conversionsOk || !hitsOk) {
        const worst = Math.max(failures.conversions, failures.hits);
        await this.sleep(Math.min(this.opts.maxErrorBackoffMs, 100 * 2 ** worst));
        continue;
      }
      await this.sleep(Math.max(0, this.opts.intervalMs - (performance.now() - started)));
    }
  }

  /** Runs one sweep; on failure counts it, logs the first and every 50th, and answers false. */
  private async guarded(
    which: "conversions" | "hits",
    failures: { conversions: number; hits: number },
    pass: () => Promise<unknown>,
  ): Promise<boolean> {
    try {
      await pass();
      failures[which] = 0;
      return true;
    } catch (error) {
      const n = ++failures[which];
      const what = which === "hits" ? "visit" : "conversion";
      (which === "hits" ? this.deps.metrics.hitSweeps : this.deps.metrics.conversionSweeps).inc({
        outcome: "failed",
      });
      if (n === 1 || n % 50 === 0) {
        this.deps.logger.error({ err: error, failures: n }, `${what} rollup sweep failed; retrying`);
        captureException(error, { component: `${what}-rollup-sweep`, failures: n });
      }
      return false;
    }
  }
}
