import { and, eq, sql } from "drizzle-orm";
import type { Database, Executor } from "../client.ts";
import { hits } from "../schema/index.ts";
import { withWorkspace, workspaceScope } from "../tenancy.ts";

export type HitRow = typeof hits.$inferInsert;

// One statement, one round trip, no transaction block: the WHERE clause sets the row-level security
// scope ($2, the batch's workspaces) for the statement's own implicit transaction. It names no
// column, so PostgreSQL runs it once as a one-time filter before the first row is read, and so
// before any row's policy check. A BEGIN/SET/INSERT/COMMIT on a reserved connection cost a third of
// the click path's throughput in `pnpm bench click`.
// Columns the JSON does not name come from the base row, not from the table's defaults: the base row
// carries the writing transaction's id (hits.ingest_xid), which the visit-rollup sweep reads.
const FROM_JSON =
  "json_populate_recordset(json_populate_record(null::hits, json_build_object('ingest_xid', pg_current_xact_id())), $1::json)";
const INSERT_HITS =
  `insert into hits select r.* from ${FROM_JSON} r ` +
  "where set_config('hitrail.workspace_id', $2, true) is not null on conflict (id) do nothing";

/** The part of the postgres.js client drizzle wraps that the insert uses directly. */
interface PreparingClient {
  unsafe: (query: string, params: unknown[], options: { prepare: boolean }) => Promise<unknown>;
}

/**
 * A hit as the `hits` table's own row type reads it from JSON. Every column is named, defaults
 * included: json_populate_recordset leaves a missing key NULL rather than applying the default.
 */
function hitColumns(row: HitRow) {
  return {
    id: row.id,
    workspace_id: row.workspaceId,
    visitor_id: row.visitorId,
    funnel_id: row.funnelId,
    node_id: row.nodeId,
    page_id: row.pageId ?? null,
    page_kind: row.pageKind,
    traffic_source_id: row.trafficSourceId ?? null,
    external_id: row.externalId ?? null,
    campaign: row.campaign ?? null,
    cost: row.cost ?? null,
    tracking_fields: row.trackingFields ?? {},
    prev_hit_id: row.prevHitId ?? null,
    ip: row.ip ?? null,
    user_agent: row.userAgent ?? null,
    device_type: row.deviceType ?? null,
    os: row.os ?? null,
    browser: row.browser ?? null,
    country: row.country ?? null,
    language: row.language ?? null,
    referrer: row.referrer ?? null,
    is_bot: row.isBot ?? false,
    created_at: row.createdAt,
  };
}

/**
 * Inserts a batch of hits (any workspaces) in one statement with one parameter: the batch travels as
 * a JSON array that Postgres turns into `hits` rows. Building a multi-row INSERT with a bind
 * parameter per column cost more CPU than the rest of a click put together (and is capped at 65,535
 * parameters). ON CONFLICT DO NOTHING makes a replay of rows that did commit harmless.
 */
export function insertHits(db: Database, rows: readonly HitRow[]): Promise<unknown> {
  const json = JSON.stringify(rows.map(hitColumns));
  // Row-level security: the batch's transaction names the workspaces its rows belong to.
  const workspaceIds = [...new Set(rows.map((r) => r.workspaceId))];
  const client = (db as { $client?: PreparingClient }).$client;
  // As a named prepared statement the driver sends Bind/Execute only; drizzle's execute() leaves
  // it unnamed, which costs a Describe round trip before every batch.
  if (typeof client?.unsafe === "function")
    return client.unsafe(INSERT_HITS, [json, workspaceScope(workspaceIds)], { prepare: true });
  return withWorkspace(db, workspaceIds, (tx) =>
    tx.execute(
      sql`insert into hits select * from json_populate_recordset(json_populate_record(null::hits,
        json_build_object('ingest_xid', pg_current_xact_id())), ${json}::json) on conflict (id) do nothing`,
    ),
  );
}

export type StoredHit = Pick<
  typeof hits.$inferSelect,
  | "id"
  | "visitorId"
  | "funnelId"
  | "nodeId"
  | "pageId"
  | "pageKind"
  | "trafficSourceId"
  | "externalId"
  | "campaign"
  | "cost"
  | "trackingFields"
  | "createdAt"
>;

/** The hit with this ID in this workspace (the id prunes the lookup to one time partition). */
export async function findHit(
  db: Executor,
  workspaceId: string,
  hitId: string,
): Promise<StoredHit | undefined> {
  const h = hits;
  const [row] = await withWorkspace(db, workspaceId, (tx) =>
    tx
      .select({
        id: h.id,
        visitorId: h.visitorId,
        funnelId: h.funnelId,
        nodeId: h.nodeId,
        pageId: h.pageId,
        pageKind: h.pageKind,
        trafficSourceId: h.trafficSourceId,
        externalId: h.externalId,
        campaign: h.campaign,
        cost: h.cost,
        trackingFields: h.trackingFields,
        createdAt: h.createdAt,
      })
      .from(h)
      .where(and(eq(h.workspaceId, workspaceId), eq(h.id, hitId)))
      .limit(1),
  );
  return row;
}
