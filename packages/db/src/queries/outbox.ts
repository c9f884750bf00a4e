import { inArray, sql } from "drizzle-orm";
import type { Executor } from "../client.ts";
import { newId } from "../ids.ts";
import { outboundDeliveries, outbox } from "../schema/index.ts";
import type { OutboxJobRow } from "./conversions/batch.ts";

export interface OutboxBacklog {
  /** Outbox rows and new deliveries not yet handed to BullMQ (every workspace). */
  pending: number;
  /** Age in seconds of the oldest of them; 0 when there are none. */
  oldestSeconds: number;
}

/**
 * The relay's backlog, across workspaces (an operator's view: the worker's /metrics and `hitrail
 * doctor`). Served by the partial index on unrelayed rows, so it stays cheap however large the
 * relayed history is.
 */
export async function outboxBacklog(db: Executor): Promise<OutboxBacklog> {
  // New deliveries are outbox entries of their own (claimUnrelayedDeliveries): they wait too.
  const [row] = await db.execute<{ pending: number; oldest: number | null }>(sql`
    select sum(n)::int as pending,
           coalesce(extract(epoch from (now() - min(oldest))), 0)::float8 as oldest
    from (
      select count(*) as n, min(created_at) as oldest from outbox where relayed_at is null
      union all
      select count(*), min(created_at) from outbound_deliveries where relayed_at is null
    ) as waiting`);
  return { pending: Number(row?.pending ?? 0), oldestSeconds: Math.max(0, Number(row?.oldest ?? 0)) };
}

/** Writes one job to the outbox, in the caller's transaction; the relay hands it to BullMQ after the commit. */
export async function insertOutboxJob(
  db: Executor,
  input: { workspaceId: string; job: OutboxJobRow },
): Promise<void> {
  await db.insert(outbox).values({ id: newId(), workspaceId: input.workspaceId, ...input.job });
}

/** An unrelayed outbox row as the relay claims it (the columns as SQL names them). */
export interface ClaimedOutboxRow {
  id: string;
  workspace_id: string;
  topic: string;
  job_id: string;
  payload: unknown;
  /** What is left of the row's delay: it counts from when the row was written, not from the claim. */
  delay_left: number;
}

/**
 * Claims up to `limit` unrelayed rows, oldest first, locked for the caller's transaction (SKIP
 * LOCKED, so several relays share the work). Mark them with `markOutboxRelayed` in the same
 * transaction once enqueued.
 */
export async function claimOutboxRows(db: Executor, limit: number): Promise<ClaimedOutboxRow[]> {
  return db.execute<ClaimedOutboxRow & Record<string, unknown>>(sql`
    select id, workspace_id, topic, job_id, payload,
           greatest(0, delay_ms - floor(extract(epoch from (clock_timestamp() - created_at)) * 1000))::int as delay_left
    from outbox
    where relayed_at is null
    order by created_at
    limit ${limit}
    for update skip locked`);
}

export async function markOutboxRelayed(db: Executor, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(outbox)
    .set({ relayedAt: sql`now()` })
    .where(inArray(outbox.id, [...ids]));
}

/** A new delivery as the relay claims it: its first job is `deliver-<id>`, due at its not_before. */
export interface ClaimedDelivery {
  id: string;
  workspace_id: string;
  /** Milliseconds until the delivery is due (0 when it is due already). */
  delay_left: number;
}

/**
 * Claims up to `limit` deliveries whose first job is not enqueued yet, oldest first, locked for the
 * caller's transaction (SKIP LOCKED, as claimOutboxRows). The postback path writes a delivery and no
 * outbox row for it: the delivery is its own outbox entry. Mark them with `markDeliveriesRelayed` in
 * the same transaction once enqueued.
 */
export async function claimUnrelayedDeliveries(db: Executor, limit: number): Promise<ClaimedDelivery[]> {
  return db.execute<ClaimedDelivery & Record<string, unknown>>(sql`
    select id, workspace_id,
           coalesce(greatest(0, ceil(extract(epoch from (not_before - clock_timestamp())) * 1000)), 0)::int as delay_left
    from outbound_deliveries
    where relayed_at is null
    order by created_at
    limit ${limit}
    for update skip locked`);
}

export async function markDeliveriesRelayed(db: Executor, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(outboundDeliveries)
    .set({ relayedAt: sql`now()` })
    .where(inArray(outboundDeliveries.id, [...ids]));
}

/**
 * Deletes rows relayed longer ago than the retention, at most `limit` per call. Ids are UUIDv7, so
 * the primary key doubles as a time index; relayed_at decides.
 */
export async function deleteRelayedOutbox(
  db: Executor,
  input: { retentionMs: number; limit: number },
): Promise<number> {
  const rows = await db.execute<{ n: number }>(sql`
    with doomed as (
      select id from outbox
      where id < hitrail_uuid7_floor(now() - ${input.retentionMs} * interval '1 millisecond')
        and relayed_at < now() - ${input.retentionMs} * interval '1 millisecond'
      limit ${input.limit}
    ), gone as (
      delete from outbox o using doomed where o.id = doomed.id returning 1
    )
    select count(*)::int as n from gone`);
  return Number(rows[0]?.n ?? 0);
}

/** Marks rows relayed within the last `windowMs` unrelayed again (after Redis lost them); returns how many. */
export async function unrelayRecentOutbox(db: Executor, input: { windowMs: number }): Promise<number> {
  // Deliveries relayed as their own outbox entries (claimUnrelayedDeliveries) go again too: those
  // created in the last day (ids are UUIDv7, so the primary key bounds the scan of a table that is
  // never pruned). One relayed later than that lost its job only after a day-long relay outage, and
  // the overdue-delivery reconciliation (maintenance.deliveries) gives it a new one.
  const rows = await db.execute<{ n: number }>(sql`
    with again as (
      update outbox set relayed_at = null
      where relayed_at > now() - ${input.windowMs} * interval '1 millisecond'
      returning 1
    ), deliveries as (
      update outbound_deliveries set relayed_at = null
      where id >= hitrail_uuid7_floor(now() - interval '1 day' - ${input.windowMs} * interval '1 millisecond')
        and relayed_at > now() - ${input.windowMs} * interval '1 millisecond'
      returning 1
    )
    select (select count(*) from again)::int + (select count(*) from deliveries)::int as n`);
  return Number(rows[0]?.n ?? 0);
}
