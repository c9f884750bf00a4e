import { applyConversionRollup, type Database, floorHour, recomputeHitRollups } from "@hitrail/db";
import { UnrecoverableError } from "bullmq";
import type { WorkerMetrics } from "../metrics.ts";
import type { JobHandler } from "./base.ts";

const HOUR_MS = 3_600_000;

/**
 * The SQLSTATE of a Postgres error, whether the driver's own or wrapped by drizzle (`cause`).
 */
function sqlState(error: unknown): string | null {
  for (let e = error, depth = 0; e !== null && typeof e === "object" && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * Errors a retry cannot fix: data exceptions (class 22: a numeric overflow, a value out of range) and
 * integrity violations (class 23). Connection loss, deadlocks and serialization failures are retried.
 */
export function isPermanentRollupError(error: unknown): string | null {
  const code = sqlState(error);
  return code !== null && (code.startsWith("22") || code.startsWith("23")) ? code : null;
}

/**
 * `rollup.conversion`: no longer written (the conversion sweep reads the revisions since migration
 * 0022); kept so jobs queued before the upgrade still drain. The payload's revision only says something changed; the ledger decides what
 * is left to add, so a duplicate, retried or out-of-order job changes nothing twice. A job that can
 * never succeed goes to the dead letter (BullMQ's failed set, an error line, a counter to alert on)
 * instead of retrying while the report shows a wrong total; `hitrail rollups recompute` rebuilds
 * the range once the cause is fixed.
 */
export function applyConversion(deps: {
  db: Database;
  metrics: WorkerMetrics;
}): JobHandler<"rollup.conversion"> {
  return async ({ workspaceId, conversionId }, ctx) => {
    let outcome: Awaited<ReturnType<typeof applyConversionRollup>>;
    try {
      outcome = await applyConversionRollup(deps.db, { workspaceId, conversionId });
    } catch (error) {
      const code = isPermanentRollupError(error);
      if (code === null) throw error;
      deps.metrics.rollupsDead.inc({ code });
      ctx.logger.error(
        { err: error, code, workspaceId, conversionId, jobId: ctx.job.id },
        "rollup job cannot succeed: dead-lettered, not retried",
      );
      throw new UnrecoverableError(`rollup of conversion ${conversionId} cannot succeed (SQLSTATE ${code})`);
    }
    deps.metrics.rollupsApplied.inc({ outcome: outcome.status });
    return outcome;
  };
}

/** `rollup.hits`: rebuild the visit rollups of the current hour and the `hours - 1` before it. */
export function rebuildRecentHits(deps: { db: Database; now: () => number }): JobHandler<"rollup.hits"> {
  return async ({ hours = 2 }) => {
    const current = floorHour(new Date(deps.now()));
    const from = new Date(current.getTime() - (hours - 1) * HOUR_MS);
    return recomputeHitRollups(deps.db, { from, to: new Date(current.getTime() + HOUR_MS) });
  };
}
