import { applyConversionRollup, type Database, floorHour, recomputeHitRollups } from "@hitrail/db";
import type { WorkerMetrics } from "../metrics.ts";
import type { JobHandler } from "./base.ts";

const HOUR_MS = 3_600_000;

/**
 * `rollup.conversion`: the payload's revision only says something changed; the ledger decides what
 * is left to add, so a duplicate, retried or out-of-order job changes nothing twice.
 */
export function applyConversion(deps: {
  db: Database;
  metrics: WorkerMetrics;
}): JobHandler<"rollup.conversion"> {
  return async ({ workspaceId, conversionId }) => {
    const outcome = await applyConversionRollup(deps.db, { workspaceId, conversionId });
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
