import {
  type Database,
  listOverdueDeliveries,
  maintainPartitions,
  markDeliveryDead,
  withWorkspace,
} from "@hitrail/db";
import { jobDefinitions, jobIds, type QueueSet } from "@hitrail/queue";
import type { JobHandler } from "./base.ts";

/**
 * `maintenance.partitions` (daily): monthly hit partitions one month back and three ahead, daily
 * postback-log partitions a day back and three ahead, and the postback log's retention: days older
 * than `postbackLogRetentionDays` are dropped whole. Idempotent.
 */
export function ensurePartitions(deps: {
  db: Database;
  postbackLogRetentionDays: number;
}): JobHandler<"maintenance.partitions"> {
  return async (_payload, { logger }) => {
    const { made, logMade, logDropped } = await maintainPartitions(deps.db, {
      postbackLogRetentionDays: deps.postbackLogRetentionDays,
    });
    if (made + logMade + logDropped > 0) {
      logger.info({ made, logMade, logDropped }, "partitions created and old postback-log days dropped");
    }
    return { made, logMade, logDropped };
  };
}

const ALIVE = new Set(["waiting", "delayed", "active", "prioritized", "waiting-children"]);
const MAX_ATTEMPTS = jobDefinitions["postback.deliver"].options.attempts;

/**
 * `maintenance.deliveries`: the safety net under "no accepted postback is lost". A delivery still
 * open well after its next attempt was due has lost its job (Redis lost data, a job exceeded its
 * stall limit, its retries ran out while Postgres was down). It gets one recovery job; if that one
 * also finishes without closing the delivery, or no attempts are left, the delivery is dead-lettered
 * so it shows up for a replay instead of staying "pending" forever.
 */
export function reconcileDeliveries(deps: {
  db: Database;
  queues: QueueSet;
  now: () => number;
}): JobHandler<"maintenance.deliveries"> {
  return async ({ overdueMinutes = 15 }, { logger }) => {
    const overdue = await listOverdueDeliveries(deps.db, {
      overdueBefore: new Date(deps.now() - overdueMinutes * 60_000),
      limit: 500,
    });
    const queue = deps.queues.get("postbacks");
    let requeued = 0;
    let dead = 0;
    for (const d of overdue) {
      const first = jobIds.deliver(d.id);
      const recovery = `${first}-recover-${d.attempts}`;
      const [firstState, recoveryState] = await Promise.all([
        queue.getJobState(first),
        queue.getJobState(recovery),
      ]);
      if (ALIVE.has(firstState) || ALIVE.has(recoveryState)) continue;
      const giveUp = recoveryState !== "unknown" || d.attempts >= MAX_ATTEMPTS;
      if (giveUp) {
        const reason = "its job finished without completing the delivery; replay it to try again";
        await withWorkspace(deps.db, d.workspaceId, (tx) =>
          markDeliveryDead(tx, { workspaceId: d.workspaceId, deliveryId: d.id, reason }),
        );
        dead++;
      } else {
        await deps.queues.enqueue(
          "postback.deliver",
          { workspaceId: d.workspaceId, deliveryId: d.id },
          { jobId: recovery },
        );
        requeued++;
      }
    }
    if (requeued + dead > 0) logger.warn({ requeued, dead }, "overdue postback deliveries reconciled");
    return { overdue: overdue.length, requeued, dead };
  };
}
