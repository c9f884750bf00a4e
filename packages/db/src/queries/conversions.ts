import { createHash } from "node:crypto";
import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type postgres from "postgres";
import type { DbClient, Executor } from "../client.ts";
import { conversionRevisions, conversions, touches } from "../schema/index.ts";
import { runInWorkspaces, WORKSPACE_SCOPE_STATEMENT, workspaceScope } from "../tenancy.ts";
import {
  insertFromJson,
  insertFromJsonSql,
  type JsonColumn,
  jsonParam,
  RECEIVED_POSTBACK_COLUMNS,
  type ReceivedPostbackRow,
} from "./postback-log.ts";

// The conversion write path runs as group commit: one transaction per batch of postbacks, which may
// span workspaces. Every statement therefore takes rows that each carry their workspace_id, and every
// read joins on (workspace_id, id), never on id alone.

export type ConversionStatusValue = (typeof conversions.$inferSelect)["status"];
export type ConversionSourceValue = (typeof conversionRevisions.$inferSelect)["source"];
export type RevisionActionValue = (typeof conversionRevisions.$inferSelect)["action"];
export type DuplicatePolicyValue = "update" | "ignore" | "add" | "new";
export type PageKindValue = (typeof conversions.$inferSelect)["pageKind"];

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
function lockSql(identities: readonly ConversionIdentityRef[]): SQL {
  const keys = [...new Set(identities.map(conversionLockKey))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sql`select count(pg_advisory_xact_lock(k))::int as n from unnest(string_to_array(${keys.join(",")}, ',')::bigint[]) as k`;
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
export interface ConversionPathHit {
  workspaceId: string;
  rootHitId: string;
  depth: number;
  hitId: string;
  prevHitId: string | null;
  visitorId: string;
  funnelId: string;
  nodeId: string;
  pageId: string | null;
  pageKind: PageKindValue;
  trafficSourceId: string | null;
  externalId: string | null;
  campaign: string | null;
  cost: string | null;
  trackingFields: Record<string, string>;
  /** epoch milliseconds */
  createdAtMs: number;
  /** The stored timestamp verbatim, so hit_at copies it without rounding. */
  createdAtText: string;
  /** null when the hit's page no longer exists (or the hit is no page). */
  defaultPayout: string | null;
  duplicatePolicy: DuplicatePolicyValue | null;
  statusMap: Record<string, ConversionStatusValue> | null;
  /** The parameter this offer source sends the conversion time in, besides `ts`. */
  conversionTimeParam: string | null;
  /** The parameter this offer source sends its status word in (`status` unless it says otherwise). */
  statusParam: string | null;
  trafficSourcePostbackUrl: string | null;
  postbackOnUpdate: boolean | null;
  postbackOnReject: boolean | null;
  postbackDelaySeconds: number | null;
}

type PathRow = {
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
  duplicate_policy: DuplicatePolicyValue | null;
  status_map: Record<string, ConversionStatusValue> | null;
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
 */
function pathsSql(hits: ReadonlyArray<{ workspaceId: string; hitId: string }>): SQL {
  return sql`
    with recursive req as (
      select distinct r.w as workspace_id, r.h as hit_id
      from json_to_recordset(${jsonParam(hits.map((h) => ({ w: h.workspaceId, h: h.hitId })))}::json) as r(w uuid, h uuid)
    ), path as (
      select h.workspace_id, h.id as root_id, 0 as depth, h.id, h.prev_hit_id, h.visitor_id, h.funnel_id, h.node_id,
             h.page_id, h.page_kind, h.traffic_source_id, h.external_id, h.campaign, h.cost, h.tracking_fields, h.created_at
      from req join hits h on h.workspace_id = req.workspace_id and h.id = req.hit_id
      union all
      select p.workspace_id, path.root_id, path.depth + 1, p.id, p.prev_hit_id, p.visitor_id, p.funnel_id, p.node_id,
             p.page_id, p.page_kind, p.traffic_source_id, p.external_id, p.campaign, p.cost, p.tracking_fields, p.created_at
      from path join hits p on p.workspace_id = path.workspace_id and p.id = path.prev_hit_id
      where path.depth < ${MAX_PATH_DEPTH}
    )
    select path.workspace_id, path.root_id, path.depth, path.id, path.prev_hit_id, path.visitor_id, path.funnel_id,
           path.node_id, path.page_id, path.page_kind, path.traffic_source_id, path.external_id, path.campaign,
           path.cost::text as cost, path.tracking_fields,
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

function mapPathRow(r: PathRow): ConversionPathHit {
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
export interface StoredConversion {
  id: string;
  workspaceId: string;
  hitId: string;
  eventKey: string;
  tx: string;
  seq: number;
  revenue: string;
  status: ConversionStatusValue;
  revision: number;
  deleted: boolean;
}

type StoredRow = {
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

function storedSql(identities: readonly ConversionIdentityRef[]): SQL {
  const refs = identities.map((i) => ({ w: i.workspaceId, h: i.hitId, e: i.eventKey, t: i.tx }));
  // One probe of the identity key per identity: "latest" is its first entry read backwards, and the
  // ORDER BY spells out the whole key so that no other index can offer the rows in that order without
  // a sort (the batch plans it afresh each time; see runConversionBatch).
  return sql`
    select c.id, c.workspace_id, c.hit_id, c.event_key, c.tx, c.seq, c.revenue::text as revenue, c.status, c.revision,
           c.deleted_at is not null as deleted
    from (select distinct * from json_to_recordset(${jsonParam(refs)}::json) as x(w uuid, h uuid, e text, t text)) as r
    cross join lateral (
      select * from conversions c
      where c.workspace_id = r.w and c.hit_id = r.h and c.event_key = r.e and c.tx = r.t
      order by c.workspace_id desc, c.hit_id desc, c.event_key desc, c.tx desc, c.seq desc
      limit 1
    ) as c`;
}

function mapStoredRow(r: StoredRow): StoredConversion {
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

export interface NewConversionRow {
  id: string;
  workspaceId: string;
  hitId: string;
  eventTypeId: string | null;
  eventKey: string;
  tx: string;
  seq: number;
  revenue: string;
  status: ConversionStatusValue;
  revision: number;
  visitorId: string;
  funnelId: string;
  nodeId: string;
  pageId: string | null;
  pageKind: PageKindValue;
  trafficSourceId: string | null;
  /** The hit's created_at as Postgres printed it (or an ISO string). */
  hitAt: string;
  convertedAt: Date;
  deletedAt: Date | null;
}

export const CONVERSION_COLUMNS: readonly JsonColumn[] = [
  ["id", "id", "uuid"],
  ["workspace_id", "workspaceId", "uuid"],
  ["hit_id", "hitId", "uuid"],
  ["event_type_id", "eventTypeId", "uuid"],
  ["event_key", "eventKey", "text"],
  ["tx", "tx", "text"],
  ["seq", "seq", "int"],
  ["revenue", "revenue", "numeric"],
  ["status", "status", "conversion_status"],
  ["revision", "revision", "int"],
  ["visitor_id", "visitorId", "uuid"],
  ["funnel_id", "funnelId", "uuid"],
  ["node_id", "nodeId", "uuid"],
  ["page_id", "pageId", "uuid"],
  ["page_kind", "pageKind", "page_kind"],
  ["traffic_source_id", "trafficSourceId", "uuid"],
  ["hit_at", "hitAt", "timestamptz"],
  ["converted_at", "convertedAt", "timestamptz"],
  ["deleted_at", "deletedAt", "timestamptz"],
];

export async function insertConversions(db: Executor, rows: readonly NewConversionRow[]): Promise<void> {
  await insertFromJson(db, "conversions", CONVERSION_COLUMNS, rows);
}

/** The state a stored conversion ends a batch in. */
export interface ConversionStateRow {
  id: string;
  workspaceId: string;
  revenue: string;
  status: ConversionStatusValue;
  revision: number;
  deletedAt: Date | null;
}

export async function updateConversions(db: Executor, rows: readonly ConversionStateRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.execute(updateConversionsSql(rows));
}

export interface ConversionRevisionRow {
  id: string;
  workspaceId: string;
  conversionId: string;
  revision: number;
  action: RevisionActionValue;
  previousRevenue: string | null;
  revenue: string;
  status: ConversionStatusValue;
  statusWord: string | null;
  source: ConversionSourceValue;
  receivedPostbackId: string | null;
  raw: Record<string, unknown>;
  createdAt: Date;
}

export const REVISION_COLUMNS: readonly JsonColumn[] = [
  ["id", "id", "uuid"],
  ["workspace_id", "workspaceId", "uuid"],
  ["conversion_id", "conversionId", "uuid"],
  ["revision", "revision", "int"],
  ["action", "action", "revision_action"],
  ["previous_revenue", "previousRevenue", "numeric"],
  ["revenue", "revenue", "numeric"],
  ["status", "status", "conversion_status"],
  ["status_word", "statusWord", "text"],
  ["source", "source", "conversion_source"],
  ["received_postback_id", "receivedPostbackId", "uuid"],
  ["raw", "raw", "jsonb"],
  ["created_at", "createdAt", "timestamptz"],
];

export async function insertConversionRevisions(
  db: Executor,
  rows: readonly ConversionRevisionRow[],
): Promise<void> {
  await insertFromJson(db, "conversion_revisions", REVISION_COLUMNS, rows);
}

export interface TouchRow {
  id: string;
  workspaceId: string;
  conversionId: string;
  hitId: string;
  funnelId: string;
  nodeId: string;
  pageId: string | null;
  kind: "direct" | "assisted";
  position: number;
  hitAt: string;
}

export const TOUCH_COLUMNS: readonly JsonColumn[] = [
  ["id", "id", "uuid"],
  ["workspace_id", "workspaceId", "uuid"],
  ["conversion_id", "conversionId", "uuid"],
  ["hit_id", "hitId", "uuid"],
  ["funnel_id", "funnelId", "uuid"],
  ["node_id", "nodeId", "uuid"],
  ["page_id", "pageId", "uuid"],
  ["kind", "kind", "touch_kind"],
  ["position", "position", "int"],
  ["hit_at", "hitAt", "timestamptz"],
];

export async function insertTouches(db: Executor, rows: readonly TouchRow[]): Promise<void> {
  await insertFromJson(db, "touches", TOUCH_COLUMNS, rows);
}

export interface OutboundDeliveryRow {
  id: string;
  workspaceId: string;
  conversionId: string;
  revision: number;
  trafficSourceId: string;
  event: string;
  url: string;
  unknownMacros: string[];
  notBefore: Date;
}

export const DELIVERY_COLUMNS: readonly JsonColumn[] = [
  ["id", "id", "uuid"],
  ["workspace_id", "workspaceId", "uuid"],
  ["conversion_id", "conversionId", "uuid"],
  ["revision", "revision", "int"],
  ["traffic_source_id", "trafficSourceId", "uuid"],
  ["event", "event", "text"],
  ["url", "url", "text"],
  ["unknown_macros", "unknownMacros", "text[]"],
  ["not_before", "notBefore", "timestamptz"],
];

export async function insertOutboundDeliveries(
  db: Executor,
  rows: readonly OutboundDeliveryRow[],
): Promise<void> {
  await insertFromJson(db, "outbound_deliveries", DELIVERY_COLUMNS, rows);
}

/** A job to hand to BullMQ once the transaction that wrote it commits (the relay moves it). */
export interface OutboxRow {
  id: string;
  workspaceId: string;
  /** Job name from @hitrail/queue, e.g. "postback.deliver". */
  topic: string;
  jobId: string;
  payload: Record<string, unknown>;
  delayMs: number;
}

export const OUTBOX_COLUMNS: readonly JsonColumn[] = [
  ["id", "id", "uuid"],
  ["workspace_id", "workspaceId", "uuid"],
  ["topic", "topic", "text"],
  ["job_id", "jobId", "text"],
  ["payload", "payload", "jsonb"],
  ["delay_ms", "delayMs", "int"],
];

export async function insertOutboxRows(db: Executor, rows: readonly OutboxRow[]): Promise<void> {
  await insertFromJson(db, "outbox", OUTBOX_COLUMNS, rows);
}

// ---------------------------------------------------------------------------------------------
// Reads for the dashboard, the worker and tests

export type Conversion = typeof conversions.$inferSelect;
export type ConversionRevision = typeof conversionRevisions.$inferSelect;
export type Touch = typeof touches.$inferSelect;

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

export async function listTouches(
  db: Executor,
  input: { workspaceId: string; conversionId: string },
): Promise<Touch[]> {
  return db
    .select()
    .from(touches)
    .where(and(eq(touches.workspaceId, input.workspaceId), eq(touches.conversionId, input.conversionId)))
    .orderBy(asc(touches.position));
}

// ---------------------------------------------------------------------------------------------
// One batch, one statement

export interface ConversionBatchWrite {
  inserts: readonly NewConversionRow[];
  updates: readonly ConversionStateRow[];
  revisions: readonly ConversionRevisionRow[];
  touches: readonly TouchRow[];
  deliveries: readonly OutboundDeliveryRow[];
  outbox: readonly OutboxRow[];
  postbacks: readonly ReceivedPostbackRow[];
  /**
   * More data-modifying statements for the same commit (a conversion import's ledger and progress),
   * appended after the fixed ones: the tracker never passes any, so its statement text never changes.
   */
  also?: readonly SQL[];
}

function updateConversionsSql(rows: readonly ConversionStateRow[]) {
  return sql`
    update conversions c
    set revenue = r.revenue, status = r.status, revision = r.revision, deleted_at = r."deletedAt", updated_at = now()
    from json_to_recordset(${jsonParam(rows)}::json)
      as r(id uuid, "workspaceId" uuid, revenue numeric, status conversion_status, revision int, "deletedAt" timestamptz)
    where c.workspace_id = r."workspaceId" and c.id = r.id`;
}

function writeSql(batch: ConversionBatchWrite): SQL {
  // Every part is always present (an empty array inserts nothing), so the statement text never
  // changes and stays prepared on each connection.
  const parts = [
    insertFromJsonSql("conversions", CONVERSION_COLUMNS, batch.inserts),
    updateConversionsSql(batch.updates),
    insertFromJsonSql("conversion_revisions", REVISION_COLUMNS, batch.revisions),
    insertFromJsonSql("touches", TOUCH_COLUMNS, batch.touches),
    insertFromJsonSql("outbound_deliveries", DELIVERY_COLUMNS, batch.deliveries),
    insertFromJsonSql("outbox", OUTBOX_COLUMNS, batch.outbox),
    insertFromJsonSql("received_postbacks", RECEIVED_POSTBACK_COLUMNS, batch.postbacks),
    ...(batch.also ?? []),
  ];
  const ctes = sql.join(
    parts.map((p, i) => sql`${sql.raw(`w${i}`)} as (${p})`),
    sql`, `,
  );
  return sql`with ${ctes} select 1`;
}

/**
 * Writes everything a batch of postbacks decided in one statement (data-modifying CTEs): one round
 * trip and one parse however many rows. Foreign keys from revisions and touches to the conversions
 * inserted alongside hold because they are checked when the statement ends. A conversion appears at
 * most once in `updates` (the plan folds several changes into its final state).
 */
export async function writeConversionBatch(db: Executor, batch: ConversionBatchWrite): Promise<void> {
  await db.execute(writeSql(batch));
}

// ---------------------------------------------------------------------------------------------
// The hot path: one batch in two round trips

const dialect = new PgDialect({ casing: "snake_case" });

/** Runs a built statement as a named prepared statement: after its first use on a connection it is
 * one message, with no describe round trip first, so it pipelines behind the statements before it. */
function prepared(conn: postgres.ReservedSql, query: SQL) {
  const q = dialect.sqlToQuery(query);
  return conn.unsafe<Record<string, unknown>[]>(q.sql, q.params as postgres.ParameterOrJSON<never>[], {
    prepare: true,
  });
}

export interface ConversionBatchRead {
  paths: ConversionPathHit[];
  stored: StoredConversion[];
  /**
   * Of the replayed postbacks the caller named, those whose log row is already committed: a batch
   * answered "unavailable" may still have committed, and its spooled copy must not apply twice.
   * Read under the identity locks, so a commit still in flight is waited for, not missed.
   */
  alreadyRecorded?: Set<string>;
}

/** Postbacks a replay names by their log row (id and the time it was received). */
export interface ReplayedPostbackRef {
  id: string;
  receivedAt: Date;
}

function recordedSql(refs: readonly ReplayedPostbackRef[]): SQL {
  const since = new Date(Math.min(...refs.map((r) => r.receivedAt.getTime())));
  const ids = `{${refs.map((r) => r.id).join(",")}}`;
  return sql`select id from received_postbacks where id = any(${ids}::uuid[]) and received_at >= ${since.toISOString()}::timestamptz`;
}

/**
 * One group-commit batch as one transaction in two round trips on one connection: BEGIN, the identity
 * locks and both reads go out together (the connection runs them in order, so the reads happen
 * under the locks), the caller decides from what was read, then the write and COMMIT go out
 * together. The statements run prepared: through drizzle each would cost an extra describe round
 * trip, and a loaded database makes every round trip expensive.
 */
export async function runConversionBatch(
  client: Pick<DbClient, "sql">,
  input: {
    identities: readonly ConversionIdentityRef[];
    /** Workspaces of rows the batch writes besides its identities' (postback log entries). */
    workspaceIds?: readonly string[];
    replayed?: readonly ReplayedPostbackRef[];
  },
  decide: (read: ConversionBatchRead) => ConversionBatchWrite,
): Promise<void> {
  // Row-level security: the batch's transaction names every workspace it reads or writes.
  const scope = workspaceScope([
    ...input.identities.map((i) => i.workspaceId),
    ...(input.workspaceIds ?? []),
  ]);
  if (input.identities.length === 0) {
    // Log entries only: one statement, in a transaction for its workspace setting.
    const q = dialect.sqlToQuery(writeSql(decide({ paths: [], stored: [] })));
    await runInWorkspaces(client.sql, scope.split(","), q.sql, q.params);
    return;
  }
  const conn = await client.sql.reserve();
  let open = false;
  try {
    open = true;
    const hits = input.identities.map((i) => ({ workspaceId: i.workspaceId, hitId: i.hitId }));
    const replayed = input.replayed ?? [];
    const [, , , , pathRows, storedRows, recordedRows] = await Promise.all([
      conn.unsafe("begin"),
      conn.unsafe(WORKSPACE_SCOPE_STATEMENT, [scope], { prepare: true }),
      // Plan every statement of a batch for the tables as they are now. A prepared statement keeps
      // the generic plan it made while conversions was small, and under load auto_explain caught
      // such plans scanning all 16k conversions once per identity, per batch (a sequential scan,
      // and with those ruled out, the workspace-only index): a batch's read took 60-320 ms.
      // Planning these few statements costs well under a millisecond per batch.
      conn.unsafe("set local plan_cache_mode = force_custom_plan"),
      prepared(conn, lockSql(input.identities)),
      prepared(conn, pathsSql(hits)),
      prepared(conn, storedSql(input.identities)),
      replayed.length === 0 ? [] : prepared(conn, recordedSql(replayed)),
    ]);
    const write = decide({
      paths: (pathRows as unknown as PathRow[]).map(mapPathRow),
      stored: (storedRows as unknown as StoredRow[]).map(mapStoredRow),
      ...(replayed.length === 0
        ? {}
        : { alreadyRecorded: new Set((recordedRows as Array<{ id: string }>).map((r) => String(r.id))) }),
    });
    await Promise.all([prepared(conn, writeSql(write)), conn.unsafe("commit")]);
    open = false;
  } catch (error) {
    if (open) await conn.unsafe("rollback").catch(() => {});
    throw error;
  } finally {
    conn.release();
  }
}
