import { type SQL, sql } from "drizzle-orm";
import type { Executor } from "../client.ts";
import {
  dateFilter,
  filterSql,
  keyOf,
  type ReportQuery,
  rawDimension,
  selectDims,
  visitDimension,
} from "./reports.ts";

// The reports' hook for cost updates (docs/costs.md): per report key, how much the cost of the
// visits that cost updates cover differs from what their clicks carried, and how many visits that
// is. The report adds `costDelta` to the key's cost; the keys are built by the report's own
// dimension expressions, so they match its visit rows exactly. Filters here must stay those of
// reportVisits / reportVisitsRaw.

/**
 * Every field of ReportQuery, and whether the adjustments below honour it. A field added to
 * ReportQuery (a drill-down filter) does not compile here until it is handled: an adjustment that
 * ignored a filter the visit rows apply would add cost from visits the report does not show.
 */
const HANDLED_QUERY_FIELDS = {
  workspaceId: true,
  timeZone: true,
  fromDate: true,
  toDate: true,
  groupBy: true,
  funnelId: true,
  trafficSourceId: true,
  trackingField: true,
  // Drill-down parents: applied with the report's own filter expressions on both paths.
  filters: true,
  // Cost counts every visit, bots included (the money was spent): the switch is for the counts.
  includeBots: true,
  // Conversions only: visits and their cost always count at the visit's time.
  creditAt: true,
} as const satisfies Record<keyof ReportQuery, true>;
void HANDLED_QUERY_FIELDS;

export interface CostAdjustmentRow {
  key: Record<string, string | null>;
  /** Visits whose cost is set by a cost update. */
  visits: number;
  /** Their cost from updates minus what their clicks carried (decimal string, may be negative). */
  costDelta: string;
}

function toRows(rows: Record<string, unknown>[], q: ReportQuery): CostAdjustmentRow[] {
  return rows.map((r) => ({
    key: keyOf(r, q.groupBy),
    visits: Number(r.visits ?? 0),
    costDelta: String(r.cost_delta ?? "0"),
  }));
}

/** For reports read from the rollups: cost_rollups_hourly has the visit rollups' columns. */
export async function reportCostAdjustments(db: Executor, q: ReportQuery): Promise<CostAdjustmentRow[]> {
  const { inner, group, outer } = selectDims(q.groupBy, (d) => visitDimension(d, q.timeZone));
  const rows = await db.execute<Record<string, unknown>>(sql`
    select ${outer}, s.visits, s.cost_delta::text as cost_delta from (
      select ${inner}, sum(h.visits)::bigint as visits, sum(h.cost_delta) as cost_delta
      from cost_rollups_hourly h
      where h.workspace_id = ${q.workspaceId}
        and ${dateFilter("h", q)}
        ${q.funnelId ? sql`and h.funnel_id = ${q.funnelId}` : sql``}
        ${q.trafficSourceId ? sql`and h.traffic_source_id = ${q.trafficSourceId}` : sql``}
        ${filterSql(q.filters, (d) => visitDimension(d, q.timeZone))}
      group by ${group}) s`);
  return toRows(rows, q);
}

/** Each visit's live cost from updates in the report's range (latest update not undone wins). */
function liveAllocations(q: ReportQuery): SQL {
  return sql`
    select distinct on (a.hit_id) a.hit_id, a.amount
    from cost_allocations a
    join cost_updates u on u.workspace_id = a.workspace_id and u.id = a.update_id and u.undone_at is null
    where a.workspace_id = ${q.workspaceId}
      and a.hit_at >= ${q.fromDate}::date::timestamp at time zone ${q.timeZone}
      and a.hit_at < (${q.toDate}::date + 1)::timestamp at time zone ${q.timeZone}
    order by a.hit_id, u.seq desc`;
}

/** For reports read from raw hits (grouped by a tracking field): the same, per visit. */
export async function reportCostAdjustmentsRaw(db: Executor, q: ReportQuery): Promise<CostAdjustmentRow[]> {
  const { inner, group, outer } = selectDims(q.groupBy, (d) => rawDimension(d, q));
  // x carries every hit column, so whatever the raw report groups by is here too.
  const rows = await db.execute<Record<string, unknown>>(sql`
    select ${outer}, s.visits, s.cost_delta::text as cost_delta from (
      select ${inner}, count(*)::bigint as visits, sum(x.cost_delta) as cost_delta
      from (select h.*, h.created_at as at, e.amount - coalesce(h.cost, 0) as cost_delta
            from (${liveAllocations(q)}) e
            join hits h on h.workspace_id = ${q.workspaceId} and h.id = e.hit_id
            where ${dateFilter("h", q, "created_at")}
              ${q.funnelId ? sql`and h.funnel_id = ${q.funnelId}` : sql``}
              ${q.trafficSourceId ? sql`and h.traffic_source_id = ${q.trafficSourceId}` : sql``}) x
      where true ${filterSql(q.filters, (d) => rawDimension(d, q))}
      group by ${group}) s`);
  return toRows(rows, q);
}
