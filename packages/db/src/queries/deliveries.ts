import type { DeliveryState } from "@hitrail/core";
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Database, Executor } from "../client.ts";
import { newId } from "../ids.ts";
import { deliveryAttempts, outboundDeliveries, outbox } from "../schema/index.ts";
import { withWorkspace } from "../tenancy.ts";
import type { OutboxJobRow } from "./conversions/batch.ts";
import { insertOutboxJob } from "./outbox.ts";

// Traffic-source postback deliveries: the tracker writes one row per conversion revision that should
// notify (with its rendered URL) plus an outbox row; the worker reads the row at fire time, claims one
// attempt at a time, and logs every attempt. docs/postback-delivery.md describes the whole life cycle.

export type OutboundDelivery = typeof outboundDeliveries.$inferSelect;
export type DeliveryAttempt = typeof deliveryAttempts.$inferSelect;
export type DeliveryStatus = OutboundDelivery["status"];

/** Statuses a delivery can still leave by being sent. */
export const OPEN_DELIVERY_STATUSES = ["pending", "failed"] as const satisfies readonly DeliveryStatus[];

/**
 * What the worker needs at fire time: core's DeliveryState (what decideFire reads), and what sending
 * and recording an attempt need.
 */
export interface DeliveryForSend extends DeliveryState {
  id: string;
  workspaceId: string;
  conversionId: string;
  trafficSourceId: string;
  url: string;
  unknownMacros: string[];
  status: DeliveryStatus;
  /** The endpoint has a failing streak: a success must clear it (otherwise nothing to write). */
  sourceFailing: boolean;
}

type ForSendRow = {
  id: string;
  workspace_id: string;
  conversion_id: string;
  revision: number;
  traffic_source_id: string;
  url: string;
  unknown_macros: string[] | null;
  status: DeliveryStatus;
  attempts: number;
  not_before_ms: string | null;
  conversion_revision: number | null;
  conversion_deleted: boolean | null;
  newer_revision: number | null;
  earlier_attempted: boolean;
  source_disabled: boolean | null;
  source_failing: boolean | null;
};

export async function loadDeliveryForSend(
  db: Executor,
  input: { workspaceId: string; deliveryId: string },
): Promise<DeliveryForSend | null> {
  const rows = await db.execute<ForSendRow>(sql`
    select d.id, d.workspace_id, d.conversion_id, d.revision, d.traffic_source_id, d.url, d.unknown_macros,
           d.status, d.attempts, (extract(epoch from d.not_before) * 1000)::text as not_before_ms,
           c.revision as conversion_revision,
           (c.deleted_at is not null or c.status = 'rejected') as conversion_deleted,
           (select max(n.revision) from outbound_deliveries n
             where n.workspace_id = d.workspace_id and n.conversion_id = d.conversion_id
               and n.traffic_source_id = d.traffic_source_id and n.revision > d.revision) as newer_revision,
           exists (select 1 from outbound_deliveries e
             where e.workspace_id = d.workspace_id and e.conversion_id = d.conversion_id
               and e.traffic_source_id = d.traffic_source_id and e.revision < d.revision and e.attempts > 0)
             as earlier_attempted,
           ts.postback_disabled_at is not null as source_disabled,
           ts.postback_failing_since is not null as source_failing
    from outbound_deliveries d
    left join traffic_sources ts on ts.workspace_id = d.workspace_id and ts.id = d.traffic_source_id
    left join conversions c on c.workspace_id = d.workspace_id and c.id = d.conversion_id
    where d.workspace_id = ${input.workspaceId} and d.id = ${input.deliveryId}
  `);
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    conversionId: r.conversion_id,
    revision: Number(r.revision),
    trafficSourceId: r.traffic_source_id,
    url: r.url,
    unknownMacros: r.unknown_macros ?? [],
    status: r.status,
    attempts: Number(r.attempts),
    notBeforeMs: r.not_before_ms === null ? null : Math.round(Number(r.not_before_ms)),
    conversion:
      r.conversion_revision === null
        ? null
        : { revision: Number(r.conversion_revision), deleted: r.conversion_deleted === true },
    newerRevision: r.newer_revision === null ? null : Number(r.newer_revision),
    earlierAttempted: r.earlier_attempted,
    sourceDisabled: r.source_disabled === true,
    sourceFailing: r.source_failing === true,
  };
}

/** Holds an open delivery while its endpoint is disabled; re-enabling the endpoint sends it. */
export async function pauseDelivery(
  db: Executor,
  input: { workspaceId: string; deliveryId: string },
): Promise<boolean> {
  const rows = await db.execute<{ id: string }>(sql`
    update outbound_deliveries set status = 'paused', not_before = null, updated_at = now()
    where workspace_id = ${input.workspaceId} and id = ${input.deliveryId} and status in ('pending', 'failed')
    returning id`);
  return rows.length > 0;
}

export interface EndpointState {
  disabledNow: boolean;
  failingSince: string | null;
}

/**
 * What an attempt says about its traffic source's endpoint. A success clears the failing streak; a
 * failure starts it (or continues it) and, once it has lasted `disableAfterMs`, disables the
 * endpoint with the reason in plain words. A 410 Gone flags the endpoint for its owner to look at.
 */
export async function noteEndpointResult(
  db: Executor,
  input: {
    workspaceId: string;
    trafficSourceId: string;
    ok: boolean;
    statusCode: number | null;
    error: string | null;
    url: string;
    disableAfterMs: number;
  },
): Promise<EndpointState> {
  if (input.ok) {
    await db.execute(sql`
      update traffic_sources set postback_failing_since = null
      where workspace_id = ${input.workspaceId} and id = ${input.trafficSourceId}
        and postback_failing_since is not null`);
    return { disabledNow: false, failingSince: null };
  }
  const rows = await db.execute<{ disabled_now: boolean; failing_since: string | null }>(sql`
    with before as (
      select postback_failing_since as since, postback_disabled_at as disabled from traffic_sources
      where workspace_id = ${input.workspaceId} and id = ${input.trafficSourceId} for update
    )
    update traffic_sources ts set
      postback_failing_since = coalesce(b.since, now()),
      postback_flag = case when ${input.statusCode}::int = 410
        then format('410 Gone from %s at %s: the receiver says this endpoint is gone', ${input.url}::text, now())
        else ts.postback_flag end,
      postback_disabled_at = case when b.disabled is null and coalesce(b.since, now()) <= now() - ${input.disableAfterMs} * interval '1 millisecond'
        then now() else ts.postback_disabled_at end,
      postback_disabled_reason = case when b.disabled is null and coalesce(b.since, now()) <= now() - ${input.disableAfterMs} * interval '1 millisecond'
        then format('every postback has failed since %s; the last: %s', coalesce(b.since, now()), coalesce(${input.error}::text, 'failed'))
        else ts.postback_disabled_reason end
    from before b
    where ts.workspace_id = ${input.workspaceId} and ts.id = ${input.trafficSourceId}
    returning (b.disabled is null and ts.postback_disabled_at is not null) as disabled_now,
              ts.postback_failing_since::text as failing_since`);
  const r = rows[0];
  return { disabledNow: r?.disabled_now === true, failingSince: r?.failing_since ?? null };
}

/**
 * Re-enables a traffic source's postback endpoint: clears the failing streak, the reason and the
 * flag, and sends every paused delivery (pending again, with an outbox row each, oldest first).
 * Runs in the caller's tenant transaction.
 */
export async function resumeTrafficSourcePostbacks(
  db: Executor,
  input: {
    workspaceId: string;
    trafficSourceId: string;
    /** The job that sends a resumed delivery (@hitrail/queue builds it). */
    jobFor: (deliveryId: string) => OutboxJobRow;
  },
): Promise<{ found: boolean; resumed: number }> {
  const updated = await db.execute<{ id: string }>(sql`
    update traffic_sources set postback_failing_since = null, postback_disabled_at = null,
      postback_disabled_reason = null, postback_flag = null, updated_at = now()
    where workspace_id = ${input.workspaceId} and id = ${input.trafficSourceId}
    returning id`);
  if (updated.length === 0) return { found: false, resumed: 0 };
  const paused = await db.execute<{ id: string }>(sql`
    update outbound_deliveries set status = 'pending', not_before = null, updated_at = now()
    where workspace_id = ${input.workspaceId} and traffic_source_id = ${input.trafficSourceId} and status = 'paused'
    returning id, created_at`);
  const ordered = [...paused].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (ordered.length > 0) {
    await db.insert(outbox).values(
      ordered.map((d) => ({
        id: newId(),
        workspaceId: input.workspaceId,
        ...input.jobFor(d.id),
      })),
    );
  }
  return { found: true, resumed: ordered.length };
}

/**
 * Starts attempt `expectedAttempts + 1`, only if nobody started it first: the attempt count is the
 * fencing token, so two jobs for one delivery (a duplicate, a stalled job taken over) never send the
 * same attempt twice. `leaseUntil` keeps other jobs off while the request is in flight.
 */
export async function claimDeliveryAttempt(
  db: Executor,
  input: { workspaceId: string; deliveryId: string; expectedAttempts: number; leaseUntil: Date },
): Promise<{ attempt: number; url: string } | null> {
  const [row] = await db
    .update(outboundDeliveries)
    .set({
      attempts: sql`${outboundDeliveries.attempts} + 1`,
      status: "pending",
      notBefore: input.leaseUntil,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(outboundDeliveries.workspaceId, input.workspaceId),
        eq(outboundDeliveries.id, input.deliveryId),
        eq(outboundDeliveries.attempts, input.expectedAttempts),
        inArray(outboundDeliveries.status, [...OPEN_DELIVERY_STATUSES]),
      ),
    )
    .returning({ attempt: outboundDeliveries.attempts, url: outboundDeliveries.url });
  return row ?? null;
}

export interface AttemptRecord {
  workspaceId: string;
  deliveryId: string;
  attempt: number;
  url: string;
  statusCode: number | null;
  latencyMs: number | null;
  error: string | null;
  /** delivered: done; failed: another attempt at `nextAttemptAt`; dead: no more attempts. */
  outcome: "delivered" | "failed" | "dead";
  nextAttemptAt: Date | null;
}

/**
 * Logs one attempt and moves the delivery on, in one statement. The status only changes if the
 * attempt is still the delivery's latest (a slower duplicate cannot overwrite a newer result); the
 * log row is always kept.
 */
export async function recordDeliveryAttempt(db: Executor, input: AttemptRecord): Promise<boolean> {
  const notBefore = input.nextAttemptAt ? input.nextAttemptAt.toISOString() : null;
  const rows = await db.execute<{ id: string }>(sql`
    with logged as (
      insert into delivery_attempts (id, workspace_id, delivery_id, attempt, url, status_code, latency_ms, error)
      values (${newId()}, ${input.workspaceId}, ${input.deliveryId}, ${input.attempt}, ${input.url},
              ${input.statusCode}, ${input.latencyMs}, ${input.error})
      returning 1
    )
    update outbound_deliveries
    set status = ${input.outcome}::delivery_status,
        last_status_code = ${input.statusCode},
        last_error = ${input.error},
        not_before = ${notBefore}::timestamptz,
        delivered_at = case when ${input.outcome} = 'delivered' then now() else delivered_at end,
        updated_at = now()
    where workspace_id = ${input.workspaceId} and id = ${input.deliveryId} and attempts = ${input.attempt}
      and exists (select 1 from logged)
    returning id`);
  return rows.length > 0;
}

/** Ends an open delivery without sending it (superseded, conversion rejected before it fired, …). */
export async function cancelDelivery(
  db: Executor,
  input: { workspaceId: string; deliveryId: string; reason: string },
): Promise<boolean> {
  return closeDelivery(db, input, "cancelled");
}

/** Ends an open delivery as dead-lettered without a new attempt (its job gave up outside the processor). */
export async function markDeliveryDead(
  db: Executor,
  input: { workspaceId: string; deliveryId: string; reason: string },
): Promise<boolean> {
  return closeDelivery(db, input, "dead");
}

async function closeDelivery(
  db: Executor,
  input: { workspaceId: string; deliveryId: string; reason: string },
  status: "cancelled" | "dead",
): Promise<boolean> {
  const rows = await db
    .update(outboundDeliveries)
    .set({ status, lastError: input.reason, notBefore: null, updatedAt: sql`now()` })
    .where(
      and(
        eq(outboundDeliveries.workspaceId, input.workspaceId),
        eq(outboundDeliveries.id, input.deliveryId),
        inArray(outboundDeliveries.status, [...OPEN_DELIVERY_STATUSES]),
      ),
    )
    .returning({ id: outboundDeliveries.id });
  return rows.length > 0;
}

/**
 * For the tracker: replaces the URL of a delivery that has not been attempted yet (a delayed
 * postback whose conversion changed while it waited, for a traffic source that takes no updates).
 * Returns false once the first attempt has started: from then on the row is what was sent.
 */
export async function rewritePendingDelivery(
  db: Executor,
  input: { workspaceId: string; deliveryId: string; url: string; unknownMacros?: string[] },
): Promise<boolean> {
  const rows = await db
    .update(outboundDeliveries)
    .set({
      url: input.url,
      ...(input.unknownMacros ? { unknownMacros: input.unknownMacros } : {}),
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(outboundDeliveries.workspaceId, input.workspaceId),
        eq(outboundDeliveries.id, input.deliveryId),
        eq(outboundDeliveries.status, "pending"),
        eq(outboundDeliveries.attempts, 0),
      ),
    )
    .returning({ id: outboundDeliveries.id });
  return rows.length > 0;
}

export type ReplayResult = { ok: true; jobId: string } | { ok: false; reason: string };

/**
 * Sends a finished delivery (delivered, dead or cancelled) again: resets it to pending and, in the
 * same transaction, writes the outbox row of the job it is given (a new job id each time), so the replay is
 * as durable as the first send. The fire-time rules still apply: a replay of a superseded delivery,
 * or of one whose conversion was rejected, is cancelled again with its reason. A delivery that is
 * still pending or being retried is refused (its own job will send it).
 */
export async function replayDelivery(
  db: Database,
  input: { workspaceId: string; deliveryId: string; job: OutboxJobRow },
): Promise<ReplayResult> {
  return withWorkspace(db, input.workspaceId, async (tx) => {
    const [delivery] = await tx
      .select({ id: outboundDeliveries.id, status: outboundDeliveries.status })
      .from(outboundDeliveries)
      .where(
        and(
          eq(outboundDeliveries.workspaceId, input.workspaceId),
          eq(outboundDeliveries.id, input.deliveryId),
        ),
      )
      .for("update");
    if (!delivery) return { ok: false, reason: "delivery not found" };
    if (delivery.status === "pending") return { ok: false, reason: "delivery is still pending" };
    if (delivery.status === "failed") return { ok: false, reason: "delivery is still being retried" };
    await tx
      .update(outboundDeliveries)
      .set({ status: "pending", notBefore: null, updatedAt: sql`now()` })
      .where(
        and(
          eq(outboundDeliveries.workspaceId, input.workspaceId),
          eq(outboundDeliveries.id, input.deliveryId),
        ),
      );
    await insertOutboxJob(tx, input);
    return { ok: true, jobId: input.job.jobId };
  });
}

export async function findDelivery(
  db: Executor,
  input: { workspaceId: string; deliveryId: string },
): Promise<OutboundDelivery | undefined> {
  const [row] = await db
    .select()
    .from(outboundDeliveries)
    .where(
      and(eq(outboundDeliveries.workspaceId, input.workspaceId), eq(outboundDeliveries.id, input.deliveryId)),
    )
    .limit(1);
  return row;
}

/** The delivery log: every attempt, oldest first. */
export async function listDeliveryAttempts(
  db: Executor,
  input: { workspaceId: string; deliveryId: string },
): Promise<DeliveryAttempt[]> {
  return db
    .select()
    .from(deliveryAttempts)
    .where(
      and(
        eq(deliveryAttempts.workspaceId, input.workspaceId),
        eq(deliveryAttempts.deliveryId, input.deliveryId),
      ),
    )
    .orderBy(asc(deliveryAttempts.attempt), asc(deliveryAttempts.createdAt));
}

export async function listDeliveriesOfConversion(
  db: Executor,
  input: { workspaceId: string; conversionId: string },
): Promise<OutboundDelivery[]> {
  return db
    .select()
    .from(outboundDeliveries)
    .where(
      and(
        eq(outboundDeliveries.workspaceId, input.workspaceId),
        eq(outboundDeliveries.conversionId, input.conversionId),
      ),
    )
    .orderBy(asc(outboundDeliveries.revision), asc(outboundDeliveries.createdAt));
}

export interface OverdueDelivery {
  id: string;
  workspaceId: string;
  status: DeliveryStatus;
  attempts: number;
}

/**
 * Across workspaces (maintenance only): open deliveries whose next attempt should have started
 * before `overdueBefore`. A healthy queue leaves none; the reconciler looks for their jobs.
 */
export async function listOverdueDeliveries(
  db: Executor,
  input: { overdueBefore: Date; limit: number },
): Promise<OverdueDelivery[]> {
  const rows = await db.execute<{
    id: string;
    workspace_id: string;
    status: DeliveryStatus;
    attempts: number;
  }>(sql`
    select id, workspace_id, status, attempts from outbound_deliveries
    where status in ('pending', 'failed') and coalesce(not_before, updated_at) < ${input.overdueBefore.toISOString()}::timestamptz
    order by updated_at
    limit ${input.limit}
  `);
  return rows.map((r) => ({
    id: r.id,
    workspaceId: r.workspace_id,
    status: r.status,
    attempts: Number(r.attempts),
  }));
}
