import { and, asc, desc, eq, gte, inArray, lt, sql } from "drizzle-orm";
import type { Executor } from "../client.ts";
import {
  conversionRevisions,
  conversions,
  deliveryAttempts,
  deliveryStatus,
  outboundDeliveries,
  receivedPostbacks,
  type touches,
} from "../schema/index.ts";
import type { OutboxJobRow } from "./conversions/batch.ts";
import { touchesOfConversion } from "./conversions/read.ts";
import { insertOutboxJob } from "./outbox.ts";

// The dashboard's logs: conversions with their revisions, the received-postback log and the outbound
// delivery log. Pages go newest first and are keyed by id (UUIDv7, so id order is time order);
// `before` is the id of the last row of the previous page.

export interface TimeRange {
  from?: Date;
  to?: Date;
}

export type ConversionLogRow = typeof conversions.$inferSelect;
export type ConversionRevisionLogRow = typeof conversionRevisions.$inferSelect;
export type TouchLogRow = typeof touches.$inferSelect;
export type ReceivedPostbackLogRow = typeof receivedPostbacks.$inferSelect;
export type DeliveryLogRow = typeof outboundDeliveries.$inferSelect;
export type DeliveryAttemptLogRow = typeof deliveryAttempts.$inferSelect;
export type PostbackOutcomeValue = ReceivedPostbackLogRow["outcome"];
export type DeliveryStatusValue = DeliveryLogRow["status"];
/** Every delivery status, from the schema's enum (a new one reaches the api and the web app by itself). */
export const DELIVERY_STATUSES = deliveryStatus.enumValues;

function groupBy<R, K extends keyof R>(rows: R[], key: K): Map<R[K], R[]> {
  const out = new Map<R[K], R[]>();
  for (const row of rows) {
    const list = out.get(row[key]) ?? [];
    list.push(row);
    out.set(row[key], list);
  }
  return out;
}

export async function listConversionLog(
  db: Executor,
  input: TimeRange & {
    workspaceId: string;
    hitId?: string;
    tx?: string;
    status?: ConversionLogRow["status"];
    includeDeleted?: boolean;
    /**
     * One box for whatever the user has at hand: a hit ID, a transaction ID, or the traffic source's
     * click ID (the external ID of the converting hit).
     */
    search?: string;
    /** Local dates (inclusive) in a time zone: the dashboard's date filter. */
    dates?: { from: string; to: string; timeZone: string };
    limit: number;
    before?: string;
  },
): Promise<Array<ConversionLogRow & { revisions: ConversionRevisionLogRow[]; hit: ConversionHitFacts }>> {
  const term = input.search?.trim();
  const isId =
    term !== undefined && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(term);
  // The click ID lives on the hit: look it up among the hits of the range (the workspace-and-time
  // index), then their conversions.
  const byClickId = term
    ? sql`${conversions.hitId} in (select h.id from hits h where h.workspace_id = ${input.workspaceId}
        and h.external_id = ${term}
        ${input.from ? sql`and h.created_at >= ${input.from.toISOString()}::timestamptz - interval '90 days'` : sql``}
        ${input.to ? sql`and h.created_at < ${input.to.toISOString()}::timestamptz` : sql``})`
    : undefined;
  const searchFilter = term
    ? sql`(${isId ? sql`${conversions.hitId} = ${term}::uuid or ` : sql``}${conversions.tx} = ${term} or ${byClickId})`
    : undefined;
  const rows = await db
    .select()
    .from(conversions)
    .where(
      and(
        eq(conversions.workspaceId, input.workspaceId),
        input.hitId ? eq(conversions.hitId, input.hitId) : undefined,
        input.tx !== undefined ? eq(conversions.tx, input.tx) : undefined,
        input.status ? eq(conversions.status, input.status) : undefined,
        // Rejected conversions are deleted ones; both stay hidden unless asked for.
        input.includeDeleted || input.status === "rejected"
          ? undefined
          : sql`${conversions.deletedAt} is null and ${conversions.status} <> 'rejected'`,
        searchFilter,
        input.dates
          ? sql`${conversions.convertedAt} >= ${input.dates.from}::date::timestamp at time zone ${input.dates.timeZone}
              and ${conversions.convertedAt} < (${input.dates.to}::date + 1)::timestamp at time zone ${input.dates.timeZone}`
          : undefined,
        input.from ? gte(conversions.convertedAt, input.from) : undefined,
        input.to ? lt(conversions.convertedAt, input.to) : undefined,
        input.before ? lt(conversions.id, input.before) : undefined,
      ),
    )
    .orderBy(desc(conversions.id))
    .limit(input.limit);
  if (rows.length === 0) return [];
  const revisions = await db
    .select()
    .from(conversionRevisions)
    .where(
      and(
        eq(conversionRevisions.workspaceId, input.workspaceId),
        inArray(
          conversionRevisions.conversionId,
          rows.map((r) => r.id),
        ),
      ),
    )
    .orderBy(asc(conversionRevisions.conversionId), asc(conversionRevisions.revision));
  const byConversion = groupBy(revisions, "conversionId");
  const facts = await conversionHitFacts(db, input.workspaceId, rows);
  return rows.map((r) => ({
    ...r,
    revisions: byConversion.get(r.id) ?? [],
    hit: facts.get(r.id) ?? EMPTY_FACTS,
  }));
}

/** What the conversions screen shows beside a conversion: names, and its hit's click ID and country. */
export interface ConversionHitFacts {
  funnelName: string | null;
  pageName: string | null;
  trafficSourceName: string | null;
  externalId: string | null;
  country: string | null;
}

const EMPTY_FACTS: ConversionHitFacts = {
  funnelName: null,
  pageName: null,
  trafficSourceName: null,
  externalId: null,
  country: null,
};

async function conversionHitFacts(
  db: Executor,
  workspaceId: string,
  rows: ReadonlyArray<{ id: string; hitId: string }>,
): Promise<Map<string, ConversionHitFacts>> {
  const out = new Map<string, ConversionHitFacts>();
  if (rows.length === 0) return out;
  const ids = `{${rows.map((r) => r.id).join(",")}}`;
  // Hit ids are UUIDv7: the lookup by id prunes to the hits' partitions.
  const facts = await db.execute<{
    id: string;
    funnel_name: string | null;
    page_name: string | null;
    traffic_source_name: string | null;
    external_id: string | null;
    country: string | null;
  }>(sql`
    select c.id::text, f.name as funnel_name, coalesce(o.name, l.name) as page_name,
           t.name as traffic_source_name, h.external_id, h.country
    from conversions c
    left join hits h on h.workspace_id = c.workspace_id and h.id = c.hit_id
    left join funnels f on f.workspace_id = c.workspace_id and f.id = c.funnel_id
    left join offers o on o.workspace_id = c.workspace_id and o.id = c.page_id
    left join landers l on l.workspace_id = c.workspace_id and l.id = c.page_id
    left join traffic_sources t on t.workspace_id = c.workspace_id and t.id = c.traffic_source_id
    where c.workspace_id = ${workspaceId} and c.id = any(${ids}::uuid[])`);
  for (const f of facts) {
    out.set(f.id, {
      funnelName: f.funnel_name,
      pageName: f.page_name,
      trafficSourceName: f.traffic_source_name,
      externalId: f.external_id,
      country: f.country,
    });
  }
  return out;
}

/** One conversion with its revisions and its touches (the path it credits). */
export async function findConversionDetail(
  db: Executor,
  input: { workspaceId: string; conversionId: string },
) {
  const [conversion] = await db
    .select()
    .from(conversions)
    .where(and(eq(conversions.workspaceId, input.workspaceId), eq(conversions.id, input.conversionId)))
    .limit(1);
  if (!conversion) return undefined;
  const [revisions, touchRows] = await Promise.all([
    db
      .select()
      .from(conversionRevisions)
      .where(
        and(
          eq(conversionRevisions.workspaceId, input.workspaceId),
          eq(conversionRevisions.conversionId, conversion.id),
        ),
      )
      .orderBy(asc(conversionRevisions.revision)),
    touchesOfConversion(db, conversion),
  ]);
  return { ...conversion, revisions, touches: touchRows };
}

export async function listPostbackLog(
  db: Executor,
  input: TimeRange & {
    workspaceId: string;
    hitId?: string;
    tx?: string;
    outcome?: PostbackOutcomeValue;
    statusWord?: string;
    /** Words the reason contains ("hit not found", "unknown status"), case-insensitive. */
    reason?: string;
    channel?: string;
    limit: number;
    before?: string;
  },
): Promise<ReceivedPostbackLogRow[]> {
  const pattern =
    input.reason === undefined ? undefined : `%${input.reason.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return db
    .select()
    .from(receivedPostbacks)
    .where(
      and(
        eq(receivedPostbacks.workspaceId, input.workspaceId),
        input.hitId ? eq(receivedPostbacks.hitId, input.hitId) : undefined,
        input.tx !== undefined ? eq(receivedPostbacks.tx, input.tx) : undefined,
        input.outcome ? eq(receivedPostbacks.outcome, input.outcome) : undefined,
        // Status words are stored lower-case by the tracker, but what a user types may not be.
        input.statusWord !== undefined
          ? sql`lower(${receivedPostbacks.statusWord}) = lower(${input.statusWord})`
          : undefined,
        pattern !== undefined ? sql`${receivedPostbacks.reason} ilike ${pattern}` : undefined,
        input.channel !== undefined ? eq(receivedPostbacks.channel, input.channel) : undefined,
        input.from ? gte(receivedPostbacks.receivedAt, input.from) : undefined,
        input.to ? lt(receivedPostbacks.receivedAt, input.to) : undefined,
        input.before ? lt(receivedPostbacks.id, input.before) : undefined,
      ),
    )
    .orderBy(desc(receivedPostbacks.id))
    .limit(input.limit);
}

export async function listDeliveryLog(
  db: Executor,
  input: TimeRange & {
    workspaceId: string;
    status?: DeliveryStatusValue;
    conversionId?: string;
    trafficSourceId?: string;
    limit: number;
    before?: string;
  },
): Promise<Array<DeliveryLogRow & { attemptLog: DeliveryAttemptLogRow[] }>> {
  const rows = await db
    .select()
    .from(outboundDeliveries)
    .where(
      and(
        eq(outboundDeliveries.workspaceId, input.workspaceId),
        input.status ? eq(outboundDeliveries.status, input.status) : undefined,
        input.conversionId ? eq(outboundDeliveries.conversionId, input.conversionId) : undefined,
        input.trafficSourceId ? eq(outboundDeliveries.trafficSourceId, input.trafficSourceId) : undefined,
        input.from ? gte(outboundDeliveries.createdAt, input.from) : undefined,
        input.to ? lt(outboundDeliveries.createdAt, input.to) : undefined,
        input.before ? lt(outboundDeliveries.id, input.before) : undefined,
      ),
    )
    .orderBy(desc(outboundDeliveries.id))
    .limit(input.limit);
  if (rows.length === 0) return [];
  const attempts = await db
    .select()
    .from(deliveryAttempts)
    .where(
      and(
        eq(deliveryAttempts.workspaceId, input.workspaceId),
        inArray(
          deliveryAttempts.deliveryId,
          rows.map((r) => r.id),
        ),
      ),
    )
    .orderBy(asc(deliveryAttempts.deliveryId), asc(deliveryAttempts.attempt), asc(deliveryAttempts.id));
  const byDelivery = groupBy(attempts, "deliveryId");
  return rows.map((r) => ({ ...r, attemptLog: byDelivery.get(r.id) ?? [] }));
}

/**
 * Queues a finished delivery (delivered, dead or cancelled) again, in the caller's transaction so the
 * dashboard can write its audit row alongside: marks it pending and writes the outbox row the
 * worker's relay enqueues (the job it is given). Same rules as `replayDelivery` (which opens its own
 * transaction): a delivery still pending or being retried is refused, since its own job will send it.
 */
export async function requeueDelivery(
  db: Executor,
  input: { workspaceId: string; deliveryId: string; job: OutboxJobRow },
): Promise<
  | { ok: true; delivery: DeliveryLogRow; previousStatus: DeliveryStatusValue; jobId: string }
  | { ok: false; reason: "not_found" | "pending" | "retrying" }
> {
  const scoped = and(
    eq(outboundDeliveries.workspaceId, input.workspaceId),
    eq(outboundDeliveries.id, input.deliveryId),
  );
  const [locked] = await db.select().from(outboundDeliveries).where(scoped).for("update").limit(1);
  if (!locked) return { ok: false, reason: "not_found" };
  if (locked.status === "pending") return { ok: false, reason: "pending" };
  if (locked.status === "failed") return { ok: false, reason: "retrying" };
  const [delivery] = await db
    .update(outboundDeliveries)
    .set({ status: "pending", notBefore: null, updatedAt: sql`now()` })
    .where(scoped)
    .returning();
  if (!delivery) return { ok: false, reason: "not_found" };
  await insertOutboxJob(db, input);
  return { ok: true, delivery, previousStatus: locked.status, jobId: input.job.jobId };
}

/**
 * Every delivery of a traffic source that ended dead since a time, oldest first (the order they
 * are sent again in): what "replay everything that failed since the receiver came back" covers.
 */
export async function deadDeliveryIds(
  db: Executor,
  input: { workspaceId: string; trafficSourceId: string; since: Date; limit: number },
): Promise<string[]> {
  const rows = await db
    .select({ id: outboundDeliveries.id })
    .from(outboundDeliveries)
    .where(
      and(
        eq(outboundDeliveries.workspaceId, input.workspaceId),
        eq(outboundDeliveries.trafficSourceId, input.trafficSourceId),
        eq(outboundDeliveries.status, "dead"),
        gte(outboundDeliveries.createdAt, input.since),
      ),
    )
    .orderBy(asc(outboundDeliveries.createdAt), asc(outboundDeliveries.id))
    .limit(input.limit);
  return rows.map((r) => r.id);
}
