import { createHash } from "node:crypto";
import type { ConvertingHit } from "@hitrail/core";
import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import type { Executor } from "../../client.ts";
import { conversionRevisions, conversions, type offerSources, touches } from "../../schema/index.ts";
import { arrayLiteral, plainArrayLiteral } from "../bulk.ts";

// What the conversion write path reads, under its identity locks, and the reads of conversions for
// the dashboard, the worker and tests. The write path's batch may span workspaces: every statement
// takes rows that each carry their workspace_id, and every read joins on (workspace_id, id), never on
// id alone.

export type Conversion = typeof conversions.$inferSelect;
export type ConversionRevision = typeof conversionRevisions.$inferSelect;
export type Touch = typeof touches.$inferSelect;
type OfferSource = typeof offerSources.$inferSelect;

export type ConversionStatusValue = Conversion["status"];
export type ConversionSourceValue = ConversionRevision["source"];
export type RevisionActionValue = ConversionRevision["action"];
export type PageKindValue = Conversion["pageKind"];

// ---------------------------------------------------------------------------------------------
// Identity and locking

/** (workspace, hit, event, tx): `eventKey` is '' for a conversion, `tx` is '' when none was sent. */
export interface ConversionIdentityRef {
  workspaceId: string;
  hitId: string;
  eventKey: string;
  tx: string;
}

/** A stable signed 64-bit advisory-lock key for one conversion identity. */
export function conversionLockKey(ref: ConversionIdentityRef): bigint {
  const digest = createHash("sha256")
    .update(`${ref.workspaceId}\u0000${ref.hitId}\u0000${ref.eventKey}\u0000${ref.tx}`)
    .digest();
  return digest.readBigInt64BE(0);
}

/**
 * Serializes writers of the same identities until the transaction ends. Every code path that creates
 * or changes a conversion takes this lock first; keys are taken in ascending order so two batches
 * that share identities queue instead of deadlocking.
 */
export function lockSql(identities: readonly ConversionIdentityRef[]): SQL {
  return sql`select count(pg_advisory_xact_lock(k))::int as n from unnest(string_to_array(${lockKeys(identities)}, ',')::bigint[]) as k`;
}

/** The identities' lock keys, distinct and ascending, as the one text parameter the lock takes. */
export function lockKeys(identities: readonly ConversionIdentityRef[]): string {
  const keys = [...new Set(identities.map(conversionLockKey))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return keys.join(",");
}

export async function lockConversionIdentities(
  db: Executor,
  input: { identities: readonly ConversionIdentityRef[] },
): Promise<void> {
  if (input.identities.length === 0) return;
  await db.execute(lockSql(input.identities));
}

// ---------------------------------------------------------------------------------------------
// What a conversion needs to know about its hit

/**
 * One hit of a converting hit's path (depth 0 is the converting hit itself). Rows of depth 0 also
 * carry what the decision and the outbound postback need: the page's default payout, the offer
 * source's policy and status map, the traffic source's postback settings.
 */
export interface ConversionPathHit extends ConvertingHit {
  // externalId, campaign, cost and trackingFields are the converting hit's (depth 0) only: null
  // (trackingFields empty) on the earlier hits of its path, which attribution reads no more of.
  workspaceId: string;
  /** The converting hit this row is on the path of. */
  rootHitId: string;
  depth: number;
  prevHitId: string | null;
  nodeId: string;
  campaign: string | null;
  trackingFields: Record<string, string>;
  /** The stored timestamp verbatim, so hit_at copies it without rounding. */
  createdAtText: string;
}

export type PathRow = {
  workspace_id: string;
  root_id: string;
  depth: number;
  id: string;
  prev_hit_id: string | null;
  visitor_id: string;
  funnel_id: string;
  node_id: string;
  page_id: string | null;
  page_kind: PageKindValue;
  traffic_source_id: string | null;
  external_id: string | null;
  campaign: string | null;
  cost: string | null;
  tracking_fields: Record<string, string> | null;
  created_ms: string;
  created_text: string;
  default_payout: string | null;
  duplicate_policy: OfferSource["duplicatePolicy"] | null;
  status_map: OfferSource["statusMap"];
  conversion_time_param: string | null;
  status_param: string | null;
  postback_url: string | null;
  postback_on_update: boolean | null;
  postback_on_reject: boolean | null;
  postback_delay_seconds: number | null;
};

/** Steps walked back along prevHitId; core's buildTouches stops at the same bound. */
export const MAX_PATH_DEPTH = 64;

/**
 * The converting hits and the path that led to each, from the hits themselves (prevHitId links,
 * followed by a recursive CTE), so a postback months after the session expired still attributes.
 * A hit of another workspace is never found: every step joins on the requesting workspace.
 *
 * Each step finds its hit by id alone: the workspace test is written `(… = …) is true`, which no
 * index can serve, so the primary key is the only index a plan can probe hits with. The tracker runs
 * this on a cached generic plan (openConversionBatch), and a generic plan made while a month's
 * partition was still empty chose the (workspace_id, created_at) index there, a scan of the
 * workspace's whole month per hit once the partition fills.
 */
export function pathsSql(hits: ReadonlyArray<{ workspaceId: string; hitId: string }>): SQL {
  return sql`
    with recursive req as (
      select distinct r.w as workspace_id, r.h as hit_id
      from unnest(${plainArrayLiteral(hits.map((h) => h.workspaceId))}::uuid[], ${plainArrayLiteral(hits.map((h) => h.hitId))}::uuid[]) as r(w, h)
    ), path as (
      select h.workspace_id, h.id as root_id, 0 as depth, h.id, h.prev_hit_id, h.visitor_id, h.funnel_id, h.node_id,
             h.page_id, h.page_kind, h.traffic_source_id, h.external_id, h.campaign, h.cost, h.tracking_fields, h.created_at
      from req join hits h on h.id = req.hit_id and (h.workspace_id = req.workspace_id) is true
      union all
      select p.workspace_id, path.root_id, path.depth + 1, p.id, p.prev_hit_id, p.visitor_id, p.funnel_id, p.node_id,
             p.page_id, p.page_kind, p.traffic_source_id, p.external_id, p.campaign, p.cost, p.tracking_fields, p.created_at
      from path join hits p on p.id = path.prev_hit_id and (p.workspace_id = path.workspace_id) is true
      where path.depth < ${MAX_PATH_DEPTH}
    )
    select path.workspace_id, path.root_id, path.depth, path.id, path.prev_hit_id, path.visitor_id, path.funnel_id,
           path.node_id, path.page_id, path.page_kind, path.traffic_source_id,
           -- What only the converting hit's own decision reads (the outbound postback's tokens):
           -- not sent, nor parsed, for the earlier hits of its path.
           case when path.depth = 0 then path.external_id end as external_id,
           case when path.depth = 0 then path.campaign end as campaign,
           case when path.depth = 0 then path.cost::text end as cost,
           case when path.depth = 0 then path.tracking_fields end as tracking_fields,
           (extract(epoch from path.created_at) * 1000)::text as created_ms, path.created_at::text as created_text,
           coalesce(o.default_payout, l.default_payout)::text as default_payout,
           os.duplicate_policy, os.status_map, os.conversion_time_param, os.status_param,
           ts.postback_url, ts.postback_on_update, ts.postback_on_reject, ts.postback_delay_seconds
    from path
    left join offers o
      on path.depth = 0 and path.page_kind = 'offer' and o.workspace_id = path.workspace_id and o.id = path.page_id
    left join offer_sources os on os.workspace_id = o.workspace_id and os.id = o.offer_source_id
    left join landers l
      on path.depth = 0 and path.page_kind = 'lander' and l.workspace_id = path.workspace_id and l.id = path.page_id
    left join traffic_sources ts
      on path.depth = 0 and ts.workspace_id = path.workspace_id and ts.id = path.traffic_source_id
  `;
}

export function mapPathRow(r: PathRow): ConversionPathHit {
  return {
    workspaceId: r.workspace_id,
    rootHitId: r.root_id,
    depth: Number(r.depth),
    hitId: r.id,
    prevHitId: r.prev_hit_id,
    visitorId: r.visitor_id,
    funnelId: r.funnel_id,
    nodeId: r.node_id,
    pageId: r.page_id,
    pageKind: r.page_kind,
    trafficSourceId: r.traffic_source_id,
    externalId: r.external_id,
    campaign: r.campaign,
    cost: r.cost,
    trackingFields: r.tracking_fields ?? {},
    createdAtMs: Math.round(Number(r.created_ms)),
    createdAtText: r.created_text,
    defaultPayout: r.default_payout,
    duplicatePolicy: r.duplicate_policy,
    statusMap: r.status_map,
    conversionTimeParam: r.conversion_time_param,
    statusParam: r.status_param,
    trafficSourcePostbackUrl: r.postback_url,
    postbackOnUpdate: r.postback_on_update,
    postbackOnReject: r.postback_on_reject,
    postbackDelaySeconds: r.postback_delay_seconds === null ? null : Number(r.postback_delay_seconds),
  };
}

export async function loadConversionPaths(
  db: Executor,
  input: { hits: ReadonlyArray<{ workspaceId: string; hitId: string }> },
): Promise<ConversionPathHit[]> {
  if (input.hits.length === 0) return [];
  const rows = await db.execute<PathRow>(pathsSql(input.hits));
  return rows.map(mapPathRow);
}

// ---------------------------------------------------------------------------------------------
// Stored conversions

/** The latest stored conversion (highest seq) of one identity, deleted ones included. */
export type StoredConversion = Pick<
  Conversion,
  "id" | "workspaceId" | "hitId" | "eventKey" | "tx" | "seq" | "revenue" | "status" | "revision"
> & { deleted: boolean };

export type StoredRow = {
  id: string;
  workspace_id: string;
  hit_id: string;
  event_key: string;
  tx: string;
  seq: number;
  revenue: string;
  status: ConversionStatusValue;
  revision: number;
  deleted: boolean;
};

export function storedSql(identities: readonly ConversionIdentityRef[]): SQL {
  // One probe of the identity key per identity: "latest" is its first entry read backwards, and the
  // ORDER BY spells out the whole key so that no other index can offer the rows in that order without
  // a sort: the plan is right however many conversions there are, which the tracker's cached generic
  // plan of it relies on (BatchPlanning).
  return sql`
    select c.id, c.workspace_id, c.hit_id, c.event_key, c.tx, c.seq, c.revenue::text as revenue, c.status, c.revision,
           c.deleted_at is not null as deleted
    from (select distinct * from unnest(
      ${plainArrayLiteral(identities.map((i) => i.workspaceId))}::uuid[], ${plainArrayLiteral(identities.map((i) => i.hitId))}::uuid[],
      ${arrayLiteral(identities.map((i) => i.eventKey))}::text[], ${arrayLiteral(identities.map((i) => i.tx))}::text[]
    ) as x(w, h, e, t)) as r
    cross join lateral (
      select * from conversions c
      where c.workspace_id = r.w and c.hit_id = r.h and c.event_key = r.e and c.tx = r.t
      order by c.workspace_id desc, c.hit_id desc, c.event_key desc, c.tx desc, c.seq desc
      limit 1
    ) as c`;
}

export function mapStoredRow(r: StoredRow): StoredConversion {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    hitId: r.hit_id,
    eventKey: r.event_key,
    tx: r.tx,
    seq: Number(r.seq),
    revenue: r.revenue,
    status: r.status,
    revision: Number(r.revision),
    deleted: r.deleted,
  };
}

/** Call with the identities locked (lockConversionIdentities) so what is read stays true until commit. */
export async function findConversionsByIdentity(
  db: Executor,
  input: { identities: readonly ConversionIdentityRef[] },
): Promise<StoredConversion[]> {
  if (input.identities.length === 0) return [];
  const rows = await db.execute<StoredRow>(storedSql(input.identities));
  return rows.map(mapStoredRow);
}

/** Postbacks a replay names by their log row (id and the time it was received). */
export interface ReplayedPostbackRef {
  id: string;
  receivedAt: Date;
}

export function recordedSql(refs: readonly ReplayedPostbackRef[]): SQL {
  const since = new Date(Math.min(...refs.map((r) => r.receivedAt.getTime())));
  const ids = `{${refs.map((r) => r.id).join(",")}}`;
  return sql`select id from received_postbacks where id = any(${ids}::uuid[]) and received_at >= ${since.toISOString()}::timestamptz`;
}

// ---------------------------------------------------------------------------------------------
// Reads for the dashboard, the worker and tests

export async function findConversion(
  db: Executor,
  input: { workspaceId: string; id: string },
): Promise<Conversion | undefined> {
  const [row] = await db
    .select()
    .from(conversions)
    .where(and(eq(conversions.workspaceId, input.workspaceId), eq(conversions.id, input.id)))
    .limit(1);
  return row;
}

/** Every conversion of a hit, deleted ones included, oldest first. */
export async function listConversionsOfHit(
  db: Executor,
  input: { workspaceId: string; hitId: string },
): Promise<Conversion[]> {
  return db
    .select()
    .from(conversions)
    .where(and(eq(conversions.workspaceId, input.workspaceId), eq(conversions.hitId, input.hitId)))
    .orderBy(asc(conversions.createdAt), asc(conversions.id));
}

export async function listConversionRevisions(
  db: Executor,
  input: { workspaceId: string; conversionId: string },
): Promise<ConversionRevision[]> {
  return db
    .select()
    .from(conversionRevisions)
    .where(
      and(
        eq(conversionRevisions.workspaceId, input.workspaceId),
        eq(conversionRevisions.conversionId, input.conversionId),
      ),
    )
    .orderBy(asc(conversionRevisions.revision));
}

/**
 * A conversion's touches, direct first: the direct touch is the conversion itself (its converting
 * hit, position 0), derived rather than stored; the assisted ones are rows of `touches`. A `direct`
 * row written before touches stopped storing it is never read.
 */
export async function listTouches(
  db: Executor,
  input: { workspaceId: string; conversionId: string },
): Promise<Touch[]> {
  const conversion = await findConversion(db, { workspaceId: input.workspaceId, id: input.conversionId });
  return conversion === undefined ? [] : touchesOfConversion(db, conversion);
}

/** The touches of a conversion already read: the derived direct touch, then the stored assisted ones. */
export async function touchesOfConversion(db: Executor, conversion: Conversion): Promise<Touch[]> {
  const assisted = await db
    .select()
    .from(touches)
    .where(
      and(
        eq(touches.workspaceId, conversion.workspaceId),
        eq(touches.conversionId, conversion.id),
        eq(touches.kind, "assisted"),
      ),
    )
    .orderBy(asc(touches.position));
  return [directTouchOf(conversion), ...assisted];
}

/** The direct touch a conversion stands for: its own converting hit, at position 0. */
export function directTouchOf(conversion: Conversion): Touch {
  return {
    id: conversion.id,
    workspaceId: conversion.workspaceId,
    conversionId: conversion.id,
    hitId: conversion.hitId,
    funnelId: conversion.funnelId,
    nodeId: conversion.nodeId,
    pageId: conversion.pageId,
    kind: "direct",
    position: 0,
    hitAt: conversion.hitAt,
    createdAt: conversion.createdAt,
  };
}
