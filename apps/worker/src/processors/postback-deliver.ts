import { decideFire } from "@hitrail/core";
import {
  type AttemptRecord,
  cancelDelivery,
  claimDeliveryAttempt,
  type Database,
  type Executor,
  loadDeliveryForSend,
  noteEndpointResult,
  pauseDelivery,
  recordDeliveryAttempt,
  withWorkspace,
} from "@hitrail/db";
import { MAX_RETRY_AFTER_MS, RetryLater, type RetrySchedule, retryDelay } from "@hitrail/queue";
import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import type { WorkerMetrics } from "../metrics.ts";
import { type DestinationCache, destinationOf, type HostLimiter } from "../postbacks/host-limiter.ts";
import { deliveryIdempotencyKey, type PostbackSender, type SendResult } from "../postbacks/sender.ts";
import type { JobHandler } from "./base.ts";

export interface DeliverDeps {
  db: Database;
  sender: PostbackSender;
  limiter: HostLimiter;
  destinations: DestinationCache;
  metrics: WorkerMetrics;
  /** Retry delays after a failed attempt (injectable so tests run in milliseconds). */
  schedule: RetrySchedule;
  now: () => number;
  /** How long a started attempt keeps other jobs off the delivery: the request timeout plus slack. */
  leaseMs: number;
  /** How long a job may wait in-process for a slot of its host before going back to the queue. */
  slotWaitMs: number;
  /**
   * A job whose host has no free slot goes back to the queue: first for at least the low end (a
   * place in the host's line), then, once back and still unlucky, for a random time in this range.
   */
  busyDelayMs: readonly [number, number];
  /** An endpoint whose attempts have all failed for this long is disabled (deliveries pause). */
  endpointDisableAfterMs: number;
}

/** 503 with Retry-After means the same as 429: the receiver says when to come back. */
const honoursRetryAfter = (statusCode: number | null) => statusCode === 429 || statusCode === 503;

function settle(
  result: SendResult,
  failedAttempts: number,
  lastAttempt: boolean,
  schedule: RetrySchedule,
): { outcome: AttemptRecord["outcome"]; error: string | null; delayMs: number } {
  if (result.outcome === "ok") return { outcome: "delivered", error: null, delayMs: 0 };
  const error = result.error ?? "failed";
  // No point retrying: the address is forbidden, the URL is unusable, or the receiver said Gone.
  if (result.outcome === "refused" || result.outcome === "invalid")
    return { outcome: "dead", error, delayMs: 0 };
  if (result.statusCode === 410) {
    return { outcome: "dead", error: `${error} (410 Gone: not retried)`, delayMs: 0 };
  }
  if (lastAttempt) {
    return { outcome: "dead", error: `${error} (gave up after ${failedAttempts} attempts)`, delayMs: 0 };
  }
  const delayMs =
    honoursRetryAfter(result.statusCode) && result.retryAfterMs !== null
      ? Math.min(result.retryAfterMs, MAX_RETRY_AFTER_MS)
      : retryDelay(failedAttempts, schedule);
  return { outcome: "failed", error, delayMs };
}

/**
 * `postback.deliver`: one attempt of one traffic-source postback. Reads the delivery at fire time
 * and applies the fire-time rule; takes a slot for the destination host (or goes back to the queue
 * for a moment); claims the next attempt number; sends; logs the attempt and moves the delivery on.
 * A failure the schedule allows to retry is thrown as RetryLater with the delay it logged, so
 * BullMQ's retry and the delivery's not_before agree.
 *
 * This is the worker's hot path, so each step is one statement (three round trips per attempt),
 * not a tenant transaction: like the tracker's write path, every statement names the workspace and
 * the row ((workspace_id, id)), and the claim and the log are conditional on the attempt number.
 */
export function deliverPostback(deps: DeliverDeps): JobHandler<"postback.deliver"> {
  const turnAway = async (
    job: Job,
    token: string | undefined,
    host: string,
    until: number,
  ): Promise<never> => {
    deps.metrics.postbacksDeferred.inc({ reason: "host_busy" });
    await job.moveToDelayed(until, token);
    throw new DelayedError(`no free slot for ${host}`);
  };

  return async ({ workspaceId, deliveryId }, { job, token, logger }) => {
    // Every statement of a delivery runs under its workspace's row-level security.
    const inTenant = <T>(fn: (tx: Executor) => Promise<T>) => withWorkspace(deps.db, workspaceId, fn);
    // A backlog for one busy destination cycles through here often: skip Postgres when the answer
    // is known to be "come back later".
    const known = deps.destinations.get(deliveryId);
    if (known !== undefined && deps.limiter.isFull(known)) {
      // It already waited its turn in the line: try again soon rather than queue up at the end.
      const [min, max] = deps.busyDelayMs;
      return turnAway(job, token, known, deps.now() + min + Math.random() * (max - min));
    }

    const delivery = await inTenant((tx) => loadDeliveryForSend(tx, { workspaceId, deliveryId }));
    if (!delivery) {
      logger.warn({ workspaceId, deliveryId }, "postback job for a delivery that does not exist");
      return { status: "skipped", reason: "delivery not found" };
    }
    const decision = decideFire(delivery, deps.now());
    switch (decision.action) {
      case "skip":
        logger.debug({ deliveryId, reason: decision.reason }, "postback skipped");
        return { status: "skipped", reason: decision.reason };
      case "cancel":
        if (
          await inTenant((tx) => cancelDelivery(tx, { workspaceId, deliveryId, reason: decision.reason }))
        ) {
          deps.metrics.postbacksCancelled.inc();
          logger.info({ workspaceId, deliveryId, reason: decision.reason }, "postback cancelled");
        }
        return { status: "cancelled", reason: decision.reason };
      case "pause":
        if (await inTenant((tx) => pauseDelivery(tx, { workspaceId, deliveryId }))) {
          logger.info({ workspaceId, deliveryId, reason: decision.reason }, "postback paused");
        }
        return { status: "paused", reason: decision.reason };
      case "wait":
        deps.metrics.postbacksDeferred.inc({ reason: "not_due" });
        await job.moveToDelayed(decision.untilMs, token);
        throw new DelayedError(decision.reason);
    }

    const host = destinationOf(delivery.url) ?? "invalid";
    if (!(await deps.limiter.acquire(host, deps.slotWaitMs))) {
      deps.destinations.set(deliveryId, host);
      return turnAway(job, token, host, deps.limiter.deferral(host, deps.now(), deps.busyDelayMs[0]));
    }
    deps.destinations.delete(deliveryId);
    let result: SendResult;
    let attempt: number;
    let url: string;
    try {
      const claimed = await inTenant((tx) =>
        claimDeliveryAttempt(tx, {
          workspaceId,
          deliveryId,
          expectedAttempts: delivery.attempts,
          leaseUntil: new Date(deps.now() + deps.leaseMs),
        }),
      );
      if (!claimed) return { status: "skipped", reason: "another job started this attempt" };
      ({ attempt, url } = claimed);
      if (attempt === 1 && delivery.unknownMacros.length > 0) {
        logger.warn(
          { workspaceId, deliveryId, unknownMacros: delivery.unknownMacros },
          "postback URL has unknown macros",
        );
      }
      result = await deps.sender.send(url, { idempotencyKey: deliveryIdempotencyKey(delivery) });
    } finally {
      deps.limiter.release(host);
    }

    const failedAttempts = job.attemptsMade + 1;
    const lastAttempt = failedAttempts >= (job.opts.attempts ?? 1);
    const { outcome, error, delayMs } = settle(result, failedAttempts, lastAttempt, deps.schedule);
    const record: AttemptRecord = {
      workspaceId,
      deliveryId,
      attempt,
      url,
      statusCode: result.statusCode,
      latencyMs: result.latencyMs,
      error,
      outcome,
      nextAttemptAt: outcome === "failed" ? new Date(deps.now() + delayMs) : null,
    };
    // The request is done: losing its result to a database blip would mean sending it again, so
    // the log write gets a few quick tries before the job fails.
    for (let tries = 1; ; tries++) {
      try {
        await inTenant((tx) => recordDeliveryAttempt(tx, record));
        break;
      } catch (writeError) {
        if (tries >= 3) throw writeError;
        await new Promise((r) => setTimeout(r, 250 * tries));
      }
    }
    // The endpoint's health: a streak of failures long enough disables it (later deliveries pause
    // instead of burning their attempts); a 410 flags it. Best effort: the attempt is logged already.
    // A success on a healthy endpoint has nothing to write, so the common case costs no round trip.
    const delivered = outcome === "delivered";
    if (!delivered || delivery.sourceFailing)
      try {
        const endpoint = await inTenant((tx) =>
          noteEndpointResult(tx, {
            workspaceId,
            trafficSourceId: delivery.trafficSourceId,
            ok: delivered,
            statusCode: result.statusCode,
            error,
            url,
            disableAfterMs: deps.endpointDisableAfterMs,
          }),
        );
        if (endpoint.disabledNow) {
          logger.warn(
            { workspaceId, trafficSourceId: delivery.trafficSourceId, failingSince: endpoint.failingSince },
            "postback endpoint disabled after failing too long",
          );
        }
      } catch (healthError) {
        logger.warn({ err: (healthError as Error).message }, "could not record the endpoint's health");
      }
    deps.metrics.postbackAttempts.inc({ result: outcome, cause: result.outcome });
    deps.metrics.postbackLatency.observe(result.latencyMs / 1_000);

    if (outcome === "delivered") return { status: "delivered", attempt };
    logger.info(
      { workspaceId, deliveryId, attempt, statusCode: result.statusCode, error, outcome, delayMs },
      outcome === "dead" ? "postback dead-lettered" : "postback attempt failed",
    );
    if (outcome === "dead") throw new UnrecoverableError(error ?? "postback dead-lettered");
    throw new RetryLater(error ?? "postback attempt failed", delayMs);
  };
}
