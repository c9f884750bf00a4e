import { microsToMoney, moneyToMicros, normalizeMoney } from "@hitrail/core";
import { and, eq, type SQL, sql } from "drizzle-orm";
import type { Executor } from "../client.ts";
import { reportPreferences } from "../schema/index.ts";

// The dashboard's report, read from the hourly rollups only (never raw hits or conversions). Rollup
// hours are UTC; days and hours here are the workspace's, computed by Postgres from the hour's start,
// so a zone with a half-hour offset files each UTC hour under the local day and hour it starts in.

export const REPORT_DIMENSIONS = [
  "funnel",
  "node",
  "lander",
  "offer",
  "trafficSource",
  "country",
  "device",
  "os",
  "browser",
  "hour",
  "day",
  "trackingField",
] as const;
export type ReportDimension = (typeof REPORT_DIMENSIONS)[number];

/**
 * A grouping or filter column: a built-in dimension, or a tracking field by name (`field:zone`).
 * `field:campaign` is the campaign every traffic source captures in its campaign parameter.
 */
export type ReportColumn = ReportDimension | `field:${string}`;

export const FIELD_PREFIX = "field:";
export const isFieldColumn = (d: string): d is `field:${string}` => d.startsWith(FIELD_PREFIX);
/** The built-in tracking field every traffic source has (its campaign parameter). */
export const CAMPAIGN_FIELD = "campaign";
/**
 * The rollups by field's name for "every visit" (value the same): no tracking field can be named so
 * (reportColumn wants a name), and a hit's tracking field of that name is not rolled up.
 */
export const EVERY_VISIT_FIELD = "";

/** One parent key of a drill-down: rows where `dimension` has `value` (null: has none). */
export interface ReportFilter {
  dimension: ReportColumn;
  value: string | null;
}

/** Dimensions the conversion rollups do not carry: conversions cannot be split by them (none today). */
export const VISIT_ONLY_DIMENSIONS: readonly ReportDimension[] = [];

/** Dimensions that name one page: unique visitors there are first visits to the node. */
export const PAGE_DIMENSIONS: readonly ReportDimension[] = ["node", "lander", "offer"];

export interface ReportQuery {
  workspaceId: string;
  timeZone: string;
  /** Local dates, inclusive: "2026-05-01" … "2026-05-31". */
  fromDate: string;
  toDate: string;
  groupBy: ReportColumn[];
  /** Rows where every one of these dimensions has the given value (drill-down parents). */
  filters?: ReportFilter[];
  /** Count bot hits in visits, page views, clicks and unique visitors (default: left out). */
  includeBots?: boolean;
  funnelId?: string;
  trafficSourceId?: string;
  /** The tracking field (by name) the `trackingField` dimension groups by. */
  trackingField?: string;
  /**
   * When conversions count: at the time of the visit that earned them (the default: late revenue
   * lands on the click's day) or at the time they happened (conversions.converted_at).
   */
  creditAt?: "visit" | "conversion";
}

/**
 * Tracking fields (zone, creative, sub-ids…) are open-ended and high-cardinality. A query naming one
 * has rollups by one field (field_rollups_hourly, field_conversion_rollups_hourly), or, naming two
 * or crossing one with country, device, OS or browser, rollups by the whole visit tuple
 * (visit_tuple_rollups_hourly, conversion_tuple_rollups_hourly); conversions credited at conversion
 * time have rollups in the conversion's hour (conversion_time_rollups_hourly, and by tuple
 * conversion_time_tuple_rollups_*), whatever the grouping; cost updates read the raw hits of the range.
 */
export const RAW_DIMENSIONS: readonly ReportDimension[] = ["trackingField"];

/** Whether a query needs the raw rows for conversions: it groups or filters by a tracking field. */
export function needsRawRows(q: Pick<ReportQuery, "groupBy" | "filters">): boolean {
  return [...q.groupBy, ...(q.filters ?? []).map((f) => f.dimension)].some(
    (d) => isFieldColumn(d) || RAW_DIMENSIONS.includes(d as ReportDimension),
  );
}

/** The tracking fields a query groups or filters by, by name, each once. */
export function reportFields(q: Pick<ReportQuery, "groupBy" | "filters" | "trackingField">): string[] {
  const names = new Set<string>();
  for (const d of [...q.groupBy, ...(q.filters ?? []).map((f) => f.dimension)]) {
    if (isFieldColumn(d)) names.add(d.slice(FIELD_PREFIX.length));
    else if (d === "trackingField") names.add(q.trackingField ?? "");
  }
  return [...names];
}

/**
 * The dimensions the visits-by-field rollups carry besides the field (FIELD_ROLLUP_COLUMNS in
 * rollups.ts, and time): a field crossed with country, device, OS or browser is read from the
 * rollups by visit tuple (tupleRollupsAnswer).
 */
export const FIELD_ROLLUP_DIMENSIONS: readonly ReportDimension[] = [
  "funnel",
  "node",
  "lander",
  "offer",
  "trafficSource",
  "hour",
  "day",
  "trackingField",
];

/**
 * Whether the rollups by one field answer a query: it names at most one tracking field (the
 * visits-by-field rollup has one field per row) and, with a field, only dimensions that rollup keys.
 * Otherwise the rollups by visit tuple do (tupleRollupsAnswer).
 */
export function visitRollupsAnswer(q: Pick<ReportQuery, "groupBy" | "filters" | "trackingField">): boolean {
  const fields = reportFields(q);
  if (fields.length === 0) return true;
  return (
    fields.length === 1 &&
    [...q.groupBy, ...(q.filters ?? []).map((f) => f.dimension)].every(
      (d) => isFieldColumn(d) || FIELD_ROLLUP_DIMENSIONS.includes(d as ReportDimension),
    )
  );
}

/**
 * Whether the rollups by tuple answer a query's visits and conversions (visitSource,
 * conversionSource): it names tracking fields the rollups by one field cannot answer it with (two
 * fields, or a field crossed with country, device, OS or browser). They key every dimension and
 * every field; the narrower rollups by one field stay first where they answer (fewer rows).
 */
export function tupleRollupsAnswer(q: Pick<ReportQuery, "groupBy" | "filters" | "trackingField">): boolean {
  return reportFields(q).length > 0 && !visitRollupsAnswer(q);
}

export interface VisitRow {
  key: Record<string, string | null>;
  /** Entrances: hits that start a visitor's journey in the funnel. */
  entrances: number;
  /** Every hit (page views). */
  visits: number;
  /** Clicks out of a lander (credited to the lander). */
  clicks: number;
  /** Visits that were the visitor's first on the node, and first in the funnel. */
  uniqueNode: number;
  uniqueFunnel: number;
  bots: number;
  cost: string;
}

export interface ConversionRow {
  key: Record<string, string | null>;
  directConversions: number;
  directRevenue: string;
  assistedConversions: number;
  assistedRevenue: string;
}

// Column expressions are code, never input: dimension names come from REPORT_DIMENSIONS only.
// Rows are grouped by the raw columns (uuids, timestamps) and turned into text only after
// aggregation: grouping ~10⁵–10⁶ rollup rows by text costs a sort, by uuid a small hash table.

/** What one dimension is in each source a report reads, and how its grouped value is shown. */
interface DimensionSql {
  /** Over the visit rollups `h` (UTC hours; `field_value` is the query's one tracking field). */
  visits: (tz: string) => SQL;
  /** Over the conversion rollups `c` joined to their lander `l` and offer `o`; null: raw rows only. */
  conversions: ((tz: string) => SQL) | null;
  /**
   * Over raw rows `x` shaped like a hit (funnel_id, node_id, page_id, page_kind, traffic_source_id,
   * country, device_type, os, browser, tracking_fields) visited at `x.at`.
   */
  raw: (q: ReportQuery) => SQL;
  /** Compared as a uuid in drill-down filters (the value shown is its text). */
  uuid?: boolean;
  /** How the grouped value is shown (default: as text). */
  show?: (column: SQL) => SQL;
}

/** A column of the same name in every source. */
const sameColumn = (name: string, uuid = false): DimensionSql => ({
  visits: () => sql.raw(`h.${name}`),
  conversions: () => sql.raw(`c.${name}`),
  raw: () => sql.raw(`x.${name}`),
  uuid,
});

/** A page of one kind: the hit's page when it is of that kind; a conversion's joined page. */
const pageOf = (kind: "lander" | "offer", joined: "l" | "o"): DimensionSql => ({
  visits: () => sql.raw(`case when h.page_kind = '${kind}' then h.page_id end`),
  conversions: () => sql.raw(`${joined}.id`),
  raw: () => sql.raw(`case when x.page_kind = '${kind}' then x.page_id end`),
  uuid: true,
});

const DIMENSIONS: Record<ReportDimension, DimensionSql> = {
  funnel: sameColumn("funnel_id", true),
  node: sameColumn("node_id", true),
  lander: pageOf("lander", "l"),
  offer: pageOf("offer", "o"),
  trafficSource: sameColumn("traffic_source_id", true),
  country: sameColumn("country"),
  device: sameColumn("device_type"),
  os: sameColumn("os"),
  browser: sameColumn("browser"),
  hour: {
    visits: (tz) => sql`(h.hour at time zone ${tz})`,
    conversions: (tz) => sql`(c.hour at time zone ${tz})`,
    raw: (q) => sql`date_trunc('hour', x.at at time zone ${q.timeZone})`,
    show: (column) => sql`to_char(${column}, 'YYYY-MM-DD"T"HH24:00')`,
  },
  day: {
    visits: (tz) => sql`date_trunc('day', h.hour at time zone ${tz})`,
    conversions: (tz) => sql`date_trunc('day', c.hour at time zone ${tz})`,
    raw: (q) => sql`date_trunc('day', x.at at time zone ${q.timeZone})`,
    show: (column) => sql`to_char(${column}, 'YYYY-MM-DD')`,
  },
  trackingField: {
    visits: () => sql`h.field_value`,
    conversions: () => sql`c.field_value`,
    raw: (q) => fieldValue(q.trackingField ?? ""),
  },
};

/**
 * A field's value on a rollup row `a`: by tuple, the field of its `fields`; else the one field of
 * the query (fieldSource), `field_value`. A row without it has none.
 */
function rolledField(a: "h" | "c", d: ReportColumn, tuple: TupleOf): SQL | null {
  const name = isFieldColumn(d)
    ? d.slice(FIELD_PREFIX.length)
    : d === "trackingField"
      ? (tuple?.trackingField ?? "")
      : null;
  if (name === null) return null;
  return tuple ? sql`(${sql.raw(a)}.fields ->> ${name})` : sql.raw(`${a}.field_value`);
}

/** Over the rollups by tuple (tupleRollupsAnswer), whose rows carry every field: the query. */
type TupleOf = Pick<ReportQuery, "trackingField"> | null;

export function visitDimension(d: ReportColumn, tz: string, tuple: TupleOf = null): SQL {
  return rolledField("h", d, tuple) ?? DIMENSIONS[d as ReportDimension].visits(tz);
}

function conversionDimension(d: ReportColumn, tz: string, tuple: TupleOf = null): SQL {
  const field = rolledField("c", d, tuple);
  if (field) return field;
  const expr = DIMENSIONS[d as ReportDimension].conversions;
  if (!expr) throw new Error(`${d} is read from raw rows (reportConversionsRaw)`);
  return expr(tz);
}

/** The same dimensions over raw rows `x` shaped like a hit, visited at `x.at`. */
export function rawDimension(d: ReportColumn, q: ReportQuery): SQL {
  if (isFieldColumn(d)) return fieldValue(d.slice(FIELD_PREFIX.length));
  return DIMENSIONS[d].raw(q);
}

/**
 * A tracking field's value on a raw row. The campaign is captured into its own column (every traffic
 * source has a campaign parameter), not into tracking_fields: reading only tracking_fields is why a
 * report by `campaign` used to come out empty although `campaign=` was on the entrance link.
 */
function fieldValue(name: string): SQL {
  if (name === CAMPAIGN_FIELD) return sql`coalesce(x.tracking_fields ->> ${name}, x.campaign)`;
  return sql`(x.tracking_fields ->> ${name})`;
}

const builtIn = (d: ReportColumn): DimensionSql | null => (isFieldColumn(d) ? null : DIMENSIONS[d]);

/** `column` equal to a drill-down parent's value, compared the way the value was shown. */
export function filterSql(filters: readonly ReportFilter[] | undefined, expr: (d: ReportColumn) => SQL): SQL {
  if (!filters || filters.length === 0) return sql``;
  return sql.join(
    filters.map((f) => {
      const column = expr(f.dimension);
      const dim = builtIn(f.dimension);
      if (f.value === null) return sql` and ${column} is null`;
      if (dim?.uuid) return sql` and ${column} = ${f.value}::uuid`;
      if (dim?.show) return sql` and ${dim.show(column)} = ${f.value}`;
      return sql` and ${column} = ${f.value}`;
    }),
    sql``,
  );
}

/** How a grouped raw value is shown: ids as text, local hours and days in ISO form. */
function formatDimension(d: ReportColumn, column: SQL): SQL {
  return builtIn(d)?.show?.(column) ?? sql`${column}::text`;
}

/**
 * The pieces of a grouped query: `inner` selects the raw dimensions as g0…gN (group by `group`),
 * `outer` turns them into the d0…dN text columns the rows are keyed by.
 */
export function selectDims(
  dims: ReportColumn[],
  expr: (d: ReportColumn) => SQL,
): { inner: SQL; group: SQL; outer: SQL } {
  if (dims.length === 0) return { inner: sql`1 as one`, group: sql`1`, outer: sql`1 as one` };
  return {
    inner: sql.join(
      dims.map((d, i) => sql`${expr(d)} as ${sql.raw(`g${i}`)}`),
      sql`, `,
    ),
    group: sql.join(
      dims.map((_, i) => sql.raw(`g${i}`)),
      sql`, `,
    ),
    outer: sql.join(
      dims.map((d, i) => sql`${formatDimension(d, sql.raw(`s.g${i}`))} as ${sql.raw(`d${i}`)}`),
      sql`, `,
    ),
  };
}

/**
 * The local-date range as UTC bounds on the hour column: from the start of `fromDate` to the start
 * of the day after `toDate`, both in the workspace's zone. An hour belongs to the local date its
 * start falls on, which is exactly what these bounds select (also for half-hour zones), and plain
 * bounds let the planner estimate the rows and use the key index.
 */
export function dateFilter(alias: "h" | "c" | "t" | "f", q: ReportQuery, column = "hour"): SQL {
  const col = sql.raw(`${alias}.${column}`);
  return sql`${col} >= ${q.fromDate}::date::timestamp at time zone ${q.timeZone}
    and ${col} < (${q.toDate}::date + 1)::timestamp at time zone ${q.timeZone}`;
}

export function keyOf(row: Record<string, unknown>, dims: ReportColumn[]): Record<string, string | null> {
  const key: Record<string, string | null> = {};
  dims.forEach((d, i) => {
    const v = row[`d${i}`];
    key[d] = v === null || v === undefined ? null : String(v);
  });
  return key;
}

/** The visit rollups' key columns the visits-by-field rollups have too (FIELD_ROLLUP_DIMENSIONS). */
const FIELD_VISIT_KEY =
  "workspace_id, hour, funnel_id, node_id, page_id, page_kind, traffic_source_id, is_bot";
/** The visits-by-tuple rollups' key columns: every visit rollup key column and the fields. */
const TUPLE_VISIT_KEY =
  "workspace_id, hour, funnel_id, node_id, page_id, page_kind, traffic_source_id, country, device_type, os, browser, is_bot, fields";
const VISIT_COUNTS = [
  "entrances",
  "visits",
  "action_clicks",
  "unique_node_visits",
  "unique_funnel_visits",
  "cost",
];

/**
 * The visit rollup rows a query reads, as `h`. With a tracking field, its `field_value` column is
 * the field's value: the field's rollup rows with their value, and for the visits without the field
 * (value null) the visit rollups' rows minus the field's rows. Every count is a sum over visit rows,
 * so the difference is exact, unique visitors too (each visit row says whether it was its visitor's
 * first on the node, in the funnel). Only the key columns the field rollups have are there; a
 * query they cannot answer (visitRollupsAnswer) reads the rollups by visit tuple, whose rows carry
 * every dimension and every field (`fields`), and need no subtraction: a row without a field has none.
 *
 * The field's rows are its day rows for the UTC days inside the range and its hour rows for the
 * hours at the edges (a local day is rarely a UTC day), each as an `hour` inside the range; grouped
 * or filtered by hour or day, every hour row (a UTC day is not one local day).
 */
function visitSource(q: ReportQuery): SQL {
  const fields = reportFields(q);
  if (fields.length === 0) return sql`hit_rollups_hourly h`;
  if (tupleRollupsAnswer(q)) {
    return sql`(${fieldRows(q, null, {
      hourly: "visit_tuple_rollups_hourly",
      daily: "visit_tuple_rollups_daily",
      key: TUPLE_VISIT_KEY,
      counts: VISIT_COUNTS,
    })}) h`;
  }
  return fieldSource(q, fields[0] as string, {
    hourly: "field_rollups_hourly",
    daily: "field_rollups_daily",
    key: FIELD_VISIT_KEY,
    counts: VISIT_COUNTS,
    as: "h",
  });
}

/**
 * A field's rollup rows for a query, as `table.as`, with `field_value` the field's value: the field's
 * rows, and for the visits (conversions) without it (value null) the rollup's every-visit rows
 * (EVERY_VISIT_FIELD) minus the field's rows. Every count is a sum, so the difference is exact.
 */
function fieldSource(
  q: ReportQuery,
  field: string,
  table: { hourly: string; daily: string; key: string; counts: readonly string[]; as: "h" | "c" },
): SQL {
  const isField = (d: ReportColumn) => isFieldColumn(d) || d === "trackingField";
  // A drill-down inside one value of the field needs no rows without it.
  const valued = (q.filters ?? []).some((f) => isField(f.dimension) && f.value !== null);
  const rows = fieldRows(q, valued ? [field] : [field, EVERY_VISIT_FIELD], table);
  const as = sql.raw(table.as);
  if (valued) return sql`(${rows}) ${as}`;
  const key = sql.raw(table.key.replace(/(\w+)/g, "f.$1"));
  const counts = sql.raw(table.counts.map((c) => `v.sign * f.${c} as ${c}`).join(", "));
  // One pass over the rows (a CTE read three times had no statistics: the planner sorted them to disk).
  return sql`(
    select ${key}, v.field_value, ${counts}
    from (${rows}) f
    cross join lateral (
      select f.field_value, 1 as sign where f.field_name = ${field}
      union all
      select null::text, -1 where f.field_name = ${field}
      union all
      select null::text, 1 where f.field_name = ${EVERY_VISIT_FIELD}) v) ${as}`;
}

/**
 * Fields' rollup rows for a query's range, `key` columns, `field_name`, `field_value` and `counts`
 * (`names` null: a tuple rollup's rows, `key` columns and `counts`, of every field):
 * the day rows of the UTC days inside the range and the hour rows of the hours at its edges (a local
 * day is rarely a UTC day), each with an `hour` inside the range; grouped or filtered by hour or day,
 * every hour row (a UTC day is not one local day).
 */
function fieldRows(
  q: ReportQuery,
  names: string[] | null,
  table: { hourly: string; daily: string; key: string; counts: readonly string[] },
): SQL {
  const narrow = (a: string) => sql`${sql.raw(a)}.workspace_id = ${q.workspaceId}
    ${q.funnelId ? sql`and ${sql.raw(a)}.funnel_id = ${q.funnelId}` : sql``}
    ${q.trafficSourceId ? sql`and ${sql.raw(a)}.traffic_source_id = ${q.trafficSourceId}` : sql``}
    ${
      names
        ? sql`and ${sql.raw(a)}.field_name in ${sql`(${sql.join(
            names.map((n) => sql`${n}`),
            sql`, `,
          )})`}`
        : sql``
    }`;
  const named = names ? sql`f.field_name, f.field_value,` : sql``;
  const byTime = [...q.groupBy, ...(q.filters ?? []).map((f) => f.dimension)].some(
    (d) => d === "hour" || d === "day",
  );
  const counts = sql.raw(table.counts.map((c) => `f.${c}`).join(", "));
  const start = sql`(${q.fromDate}::date::timestamp at time zone ${q.timeZone})`;
  const end = sql`((${q.toDate}::date + 1)::timestamp at time zone ${q.timeZone})`;
  // The whole UTC days inside [start, end): none when grouped by time.
  const dayFrom = byTime
    ? end
    : sql`date_trunc('day', ${start} + interval '1 day' - interval '1 microsecond', 'UTC')`;
  const dayTo = byTime ? end : sql`date_trunc('day', ${end}, 'UTC')`;
  // Hours before the first whole day and after the last one (every hour when there is none), each
  // bound a subquery computed once, so both are ranges of the key index.
  const hours = (from: SQL, to: SQL) => sql`
      select ${sql.raw(table.key.replace(/(\w+)/g, "f.$1"))}, ${named} ${counts}
      from ${sql.raw(table.hourly)} f
      where ${narrow("f")} and f.hour >= (select ${from}) and f.hour < (select ${to})`;
  return sql`
      ${hours(start, sql`least(${dayFrom}, ${end})`)}
      union all
      ${hours(sql`greatest(${dayFrom}, ${dayTo}, ${start})`, end)}
      union all
      select ${sql.raw(table.key.replace(/(\w+)/g, "f.$1").replace("f.hour", "f.day"))}, ${named}
             ${counts}
      from ${sql.raw(table.daily)} f
      where ${narrow("f")} and f.day >= (select ${dayFrom}) and f.day < (select ${dayTo})`;
}

export async function reportVisits(db: Executor, q: ReportQuery): Promise<VisitRow[]> {
  const tuple = tupleRollupsAnswer(q) ? q : null;
  const { inner, group, outer } = selectDims(q.groupBy, (d) => visitDimension(d, q.timeZone, tuple));
  // Bots are always counted in `bots`; the other counts leave bot rows out unless asked.
  const human = q.includeBots ? sql`` : sql` filter (where not h.is_bot)`;
  const rows = await db.execute<Record<string, unknown>>(sql`
    select ${outer}, s.entrances, s.visits, s.clicks, s.unique_node, s.unique_funnel, s.bots,
           s.cost::text as cost from (
      select ${inner}, coalesce(sum(h.entrances)${human}, 0)::bigint as entrances,
             coalesce(sum(h.visits)${human}, 0)::bigint as visits,
             coalesce(sum(h.action_clicks)${human}, 0)::bigint as clicks,
             coalesce(sum(h.unique_node_visits)${human}, 0)::bigint as unique_node,
             coalesce(sum(h.unique_funnel_visits)${human}, 0)::bigint as unique_funnel,
             coalesce(sum(h.visits) filter (where h.is_bot), 0)::bigint as bots,
             coalesce(sum(h.cost), 0) as cost
      from ${visitSource(q)}
      where h.workspace_id = ${q.workspaceId}
        ${rangeOutside(q, "h")}
        ${q.funnelId ? sql`and h.funnel_id = ${q.funnelId}` : sql``}
        ${q.trafficSourceId ? sql`and h.traffic_source_id = ${q.trafficSourceId}` : sql``}
        ${filterSql(q.filters, (d) => visitDimension(d, q.timeZone, tuple))}
      group by ${group}
      -- A key of the field's subtraction where nothing is left: the raw rows have no such key.
      ${reportFields(q).length > 0 ? sql`having sum(h.visits) <> 0 or sum(h.action_clicks) <> 0` : sql``}) s`);
  return rows.map(visitRowOf(q.groupBy));
}

const visitRowOf =
  (dims: ReportColumn[]) =>
  (r: Record<string, unknown>): VisitRow => ({
    key: keyOf(r, dims),
    entrances: Number(r.entrances ?? 0),
    visits: Number(r.visits ?? 0),
    clicks: Number(r.clicks ?? 0),
    uniqueNode: Number(r.unique_node ?? 0),
    uniqueFunnel: Number(r.unique_funnel ?? 0),
    bots: Number(r.bots ?? 0),
    cost: String(r.cost ?? "0"),
  });

export interface EventRow extends ConversionRow {
  /** The custom event type's id (conversion_rollups_hourly.event_key). */
  eventTypeId: string;
}

function conversionAggregates(alias: "c" | "x" = "c"): SQL {
  const a = sql.raw(alias);
  return sql`
      coalesce(sum(${a}.conversions) filter (where ${a}.touch_kind = 'direct'), 0)::bigint as direct_conversions,
      coalesce(sum(${a}.revenue) filter (where ${a}.touch_kind = 'direct'), 0) as direct_revenue,
      coalesce(sum(${a}.conversions) filter (where ${a}.touch_kind = 'assisted'), 0)::bigint as assisted_conversions,
      coalesce(sum(${a}.revenue) filter (where ${a}.touch_kind = 'assisted'), 0) as assisted_revenue`;
}

const CONVERSION_COLUMNS = sql`s.direct_conversions, s.direct_revenue::text as direct_revenue,
    s.assisted_conversions, s.assisted_revenue::text as assisted_revenue`;

const TUPLE_CONVERSION_KEY =
  "workspace_id, hour, funnel_id, node_id, page_id, traffic_source_id, country, device_type, os, browser, fields, event_key, touch_kind";
const CONVERSION_FIELD_KEY =
  "workspace_id, hour, funnel_id, node_id, page_id, traffic_source_id, event_key, touch_kind";

/**
 * The conversion rollup rows a query reads, as `c`: with a tracking field, as visitSource builds its
 * rows, from field_conversion_rollups_hourly (its days inside the range). Credited at conversion
 * time, the same rows in the conversion's hour (conversion_time_rollups_hourly), and with any field
 * those by tuple (conversion_time_tuple_rollups_*: their rows carry every dimension and every field).
 */
function conversionSource(q: ReportQuery): SQL {
  const fields = reportFields(q);
  if (atConversionTime(q)) {
    if (fields.length === 0) return sql`conversion_time_rollups_hourly c`;
    return sql`(${fieldRows(q, null, {
      hourly: "conversion_time_tuple_rollups_hourly",
      daily: "conversion_time_tuple_rollups_daily",
      key: TUPLE_CONVERSION_KEY,
      counts: ["conversions", "revenue"],
    })}) c`;
  }
  if (fields.length === 0) return sql`conversion_rollups_hourly c`;
  if (tupleRollupsAnswer(q)) {
    return sql`(${fieldRows(q, null, {
      hourly: "conversion_tuple_rollups_hourly",
      daily: "conversion_tuple_rollups_daily",
      key: TUPLE_CONVERSION_KEY,
      counts: ["conversions", "revenue"],
    })}) c`;
  }
  return fieldSource(q, fields[0] as string, {
    hourly: "field_conversion_rollups_hourly",
    daily: "field_conversion_rollups_daily",
    key: CONVERSION_FIELD_KEY,
    counts: ["conversions", "revenue"],
    as: "c",
  });
}

/** Whether a query credits conversions at conversion time (conversion_time_rollups_hourly). */
const atConversionTime = (q: ReportQuery) => q.creditAt === "conversion";

/** The conversion rollups' fields are read from their `fields` (rollups by tuple): the query. */
const conversionTuple = (q: ReportQuery): TupleOf =>
  (atConversionTime(q) && reportFields(q).length > 0) || tupleRollupsAnswer(q) ? q : null;

/**
 * The date range on the rows of a report's source, unless the source is a field's (fieldRows picks
 * its rows by the range already): there a filter on its output would redo the time zone arithmetic
 * for every row.
 */
const rangeOutside = (q: ReportQuery, alias: "h" | "c") =>
  reportFields(q).length > 0 ? sql`` : sql`and ${dateFilter(alias, q)}`;

/**
 * A key of the field's subtraction where nothing is left, or of rows a settle left at nothing (the
 * rollups at conversion time keep them): the raw rows have no such key.
 */
const conversionsLeft = (q: ReportQuery) =>
  reportFields(q).length > 0 || atConversionTime(q)
    ? sql`having sum(c.conversions) <> 0 or sum(c.revenue) <> 0`
    : sql``;

function conversionFilters(q: ReportQuery): SQL {
  return sql`c.workspace_id = ${q.workspaceId}
      ${rangeOutside(q, "c")}
      ${q.funnelId ? sql`and c.funnel_id = ${q.funnelId}` : sql``}
      ${q.trafficSourceId ? sql`and c.traffic_source_id = ${q.trafficSourceId}` : sql``}
      ${filterSql(q.filters, (d) => conversionDimension(d, q.timeZone, conversionTuple(q)))}`;
}

function conversionCounts(r: Record<string, unknown>) {
  return {
    directConversions: Number(r.direct_conversions ?? 0),
    directRevenue: String(r.direct_revenue ?? "0"),
    assistedConversions: Number(r.assisted_conversions ?? 0),
    assistedRevenue: String(r.assisted_revenue ?? "0"),
  };
}

/**
 * Conversions, direct and assisted apart: the conversion itself and the custom events whose type
 * says it counts as a conversion in reports.
 */
export async function reportConversions(db: Executor, q: ReportQuery): Promise<ConversionRow[]> {
  const { inner, group, outer } = selectDims(q.groupBy, (d) =>
    conversionDimension(d, q.timeZone, conversionTuple(q)),
  );
  const rows = await db.execute<Record<string, unknown>>(sql`
    select ${outer}, ${CONVERSION_COLUMNS} from (
      select ${inner}, ${conversionAggregates()}
      from ${conversionSource(q)}
      left join landers l on l.workspace_id = c.workspace_id and l.id = c.page_id
      left join offers o on o.workspace_id = c.workspace_id and o.id = c.page_id
      where ${conversionFilters(q)}
        and (c.event_key = '' or c.event_key in (
          select e.id::text from custom_event_types e
          where e.workspace_id = ${q.workspaceId} and e.counts_as_conversion))
      group by ${group}
      ${conversionsLeft(q)}) s`);
  return rows.map((r) => ({ key: keyOf(r, q.groupBy), ...conversionCounts(r) }));
}

/** Each custom event type's count and revenue, direct and assisted apart, as its own columns. */
export async function reportEvents(db: Executor, q: ReportQuery): Promise<EventRow[]> {
  const { inner, group, outer } = selectDims(q.groupBy, (d) =>
    conversionDimension(d, q.timeZone, conversionTuple(q)),
  );
  const rows = await db.execute<Record<string, unknown>>(sql`
    select ${outer}, s.event_type_id, ${CONVERSION_COLUMNS} from (
      select ${inner}, c.event_key as event_type_id, ${conversionAggregates()}
      from ${conversionSource(q)}
      left join landers l on l.workspace_id = c.workspace_id and l.id = c.page_id
      left join offers o on o.workspace_id = c.workspace_id and o.id = c.page_id
      where ${conversionFilters(q)} and c.event_key <> ''
      group by ${group}, c.event_key
      ${conversionsLeft(q)}) s`);
  return rows.map((r) => ({
    key: keyOf(r, q.groupBy),
    eventTypeId: String(r.event_type_id),
    ...conversionCounts(r),
  }));
}

export interface ReportEventType {
  id: string;
  name: string;
  alias: string;
  hasRevenue: boolean;
  countsAsConversion: boolean;
  archived: boolean;
}

/** The workspace's custom event types: the report's event columns, archived ones included. */
export async function reportEventTypes(db: Executor, workspaceId: string): Promise<ReportEventType[]> {
  const rows = await db.execute<Record<string, unknown>>(sql`
    select id::text, name, alias, has_revenue, counts_as_conversion, archived_at is not null as archived
    from custom_event_types where workspace_id = ${workspaceId} order by name, id`);
  return rows.map((r) => ({
    id: String(r.id),
    name: String(r.name),
    alias: String(r.alias),
    hasRevenue: Boolean(r.has_revenue),
    countsAsConversion: Boolean(r.counts_as_conversion),
    archived: Boolean(r.archived),
  }));
}

/** Names for the ids a report shows, by kind; ids of other workspaces simply get no name. */
export async function reportLabels(
  db: Executor,
  input: { workspaceId: string; ids: string[] },
): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  if (input.ids.length === 0) return names;
  const ids = sql`(select unnest(${`{${input.ids.join(",")}}`}::uuid[]))`;
  const rows = await db.execute<{ id: string; name: string }>(sql`
    select id::text, name from funnels where workspace_id = ${input.workspaceId} and id in ${ids}
    union all select id::text, name from funnel_nodes where workspace_id = ${input.workspaceId} and id in ${ids}
    union all select id::text, name from landers where workspace_id = ${input.workspaceId} and id in ${ids}
    union all select id::text, name from offers where workspace_id = ${input.workspaceId} and id in ${ids}
    union all select id::text, name from traffic_sources where workspace_id = ${input.workspaceId} and id in ${ids}`);
  for (const r of rows) names.set(r.id, r.name);
  return names;
}

// Totals are the sums of the grouped rows (every row, before any truncation), so a report costs one
// query per metric family instead of two. Money is summed exactly, in micros.

const micros = (x: string) => moneyToMicros(normalizeMoney(x));

export function sumVisitRows(rows: readonly VisitRow[]): VisitRow {
  let cost = 0n;
  let entrances = 0;
  let clicks = 0;
  let visits = 0;
  let uniqueNode = 0;
  let uniqueFunnel = 0;
  let bots = 0;
  for (const r of rows) {
    entrances += r.entrances;
    clicks += r.clicks;
    visits += r.visits;
    uniqueNode += r.uniqueNode;
    uniqueFunnel += r.uniqueFunnel;
    bots += r.bots;
    cost += micros(r.cost);
  }
  return { key: {}, entrances, visits, clicks, uniqueNode, uniqueFunnel, bots, cost: microsToMoney(cost) };
}

export function sumConversionRows(rows: readonly ConversionRow[]): ConversionRow {
  let dc = 0;
  let ac = 0;
  let dr = 0n;
  let ar = 0n;
  for (const r of rows) {
    dc += r.directConversions;
    ac += r.assistedConversions;
    dr += micros(r.directRevenue);
    ar += micros(r.assistedRevenue);
  }
  return {
    key: {},
    directConversions: dc,
    directRevenue: microsToMoney(dr),
    assistedConversions: ac,
    assistedRevenue: microsToMoney(ar),
  };
}

/** One total row per event type. */
export function sumEventRows(rows: readonly EventRow[]): EventRow[] {
  const byType = new Map<string, EventRow[]>();
  for (const r of rows) byType.set(r.eventTypeId, [...(byType.get(r.eventTypeId) ?? []), r]);
  return [...byType].map(([eventTypeId, list]) => ({ ...sumConversionRows(list), eventTypeId }));
}

// ---------------------------------------------------------------------------------------------
// Raw reads: what the rollups must give (the rollup tests compare every grouping with them, credited
// at the visit's time and at the conversion's). Same rules as the rollups: visits by the hit's time;
// a live conversion credits its converting visit (direct) and the visits its touches name
// (assisted), at those visits' times, or all at its own time when credited at conversion time.

const rawHitColumns = (a: "h" | "l") =>
  sql.raw(`${a}.funnel_id, ${a}.node_id, ${a}.page_id, ${a}.page_kind, ${a}.traffic_source_id, ${a}.country,
  ${a}.device_type, ${a}.os, ${a}.browser, ${a}.tracking_fields, ${a}.campaign`);
const RAW_HIT_COLUMNS = rawHitColumns("h");

function rawHitFilters(q: ReportQuery): SQL {
  return sql`h.workspace_id = ${q.workspaceId}
      and ${dateFilter("h", q, "created_at")}
      ${q.funnelId ? sql`and h.funnel_id = ${q.funnelId}` : sql``}
      ${q.trafficSourceId ? sql`and h.traffic_source_id = ${q.trafficSourceId}` : sql``}`;
}

export async function reportVisitsRaw(db: Executor, q: ReportQuery): Promise<VisitRow[]> {
  const { inner, group, outer } = selectDims(q.groupBy, (d) => rawDimension(d, q));
  const pageLevel = q.groupBy.some((d) => PAGE_DIMENSIONS.includes(d as ReportDimension));
  const human = q.includeBots ? sql`true` : sql`not x.is_bot`;
  const firstOn = (column: "node_id" | "funnel_id") =>
    sql.raw(`x.hit = 1 and not exists (select 1 from hits p where p.visitor_id = x.visitor_id
      and p.${column} = x.${column} and p.id < x.id)`);
  // The same counts as the rollups (see hitRollupContributions): every hit, plus each lander click
  // filed under the lander's columns.
  const rows = await db.execute<Record<string, unknown>>(sql`
    select ${outer}, s.entrances, s.visits, s.clicks, s.unique_node, s.unique_funnel, s.bots,
           s.cost::text as cost from (
      select ${inner},
             (count(*) filter (where ${human} and x.entrance = 1))::bigint as entrances,
             (count(*) filter (where ${human} and x.hit = 1))::bigint as visits,
             (count(*) filter (where ${human} and x.hit = 0))::bigint as clicks,
             ${
               pageLevel
                 ? sql`(count(*) filter (where ${human} and ${firstOn("node_id")}))::bigint as unique_node, 0::bigint as unique_funnel,`
                 : sql`0::bigint as unique_node, (count(*) filter (where ${human} and ${firstOn("funnel_id")}))::bigint as unique_funnel,`
             }
             (count(*) filter (where x.is_bot and x.hit = 1))::bigint as bots, coalesce(sum(x.cost), 0) as cost
      from (select h.id, h.visitor_id, h.is_bot, h.cost, h.created_at as at, ${RAW_HIT_COLUMNS}, 1 as hit,
                   (h.prev_hit_id is null)::int as entrance
            from hits h where ${rawHitFilters(q)}
            union all
            select h.id, h.visitor_id, h.is_bot, null, h.created_at, ${rawHitColumns("l")}, 0, 0
            from hits h
            -- One id lookup per hit (pruned to the previous hit's partition at run time): left to
            -- itself the planner hashes every lander hit of the workspace instead.
            cross join lateral (select l.* from hits l
                                where l.workspace_id = h.workspace_id and l.id = h.prev_hit_id limit 1) l
            where ${rawHitFilters(q)} and h.prev_hit_id is not null and l.page_kind = 'lander'
              and l.node_id <> h.node_id) x
      where true ${filterSql(q.filters, (d) => rawDimension(d, q))}
      group by ${group}) s`);
  return rows.map(visitRowOf(q.groupBy));
}

/**
 * Contributions of live conversions, each with the credited hit's columns: those of the range's
 * visits (credit at visit time), or those that happened in the range (credit at conversion time,
 * `at` being the conversion's time for its direct and assisted credit alike).
 */
function rawContributions(q: ReportQuery): SQL {
  // The credited hit by its id, one lookup per conversion or touch: conversions are a few percent of
  // the hits, but left to itself the planner hashes every hit of the range (a seq scan of the month's
  // partitions) to join them.
  const hitOf = (a: "c" | "t") =>
    sql.raw(
      `cross join lateral (select h.* from hits h where h.workspace_id = ${a}.workspace_id and h.id = ${a}.hit_id limit 1) h`,
    );
  if (q.creditAt === "conversion") {
    const inRange = sql`c.workspace_id = ${q.workspaceId} and c.deleted_at is null and c.status <> 'rejected'
      and ${dateFilter("c", q, "converted_at")}
      ${q.funnelId ? sql`and c.funnel_id = ${q.funnelId}` : sql``}
      ${q.trafficSourceId ? sql`and c.traffic_source_id = ${q.trafficSourceId}` : sql``}`;
    return sql`
      select c.converted_at as at, ${RAW_HIT_COLUMNS}, c.event_key, 'direct'::touch_kind as touch_kind, 1 as conversions, c.revenue
      from conversions c
      ${hitOf("c")}
      where ${inRange}
      union all
      select c.converted_at, ${RAW_HIT_COLUMNS}, c.event_key, 'assisted'::touch_kind, 1, c.revenue
      from conversions c
      join touches t on t.workspace_id = c.workspace_id and t.conversion_id = c.id and t.kind = 'assisted'
      ${hitOf("t")}
      where ${inRange}`;
  }
  return sql`
    select h.created_at as at, ${RAW_HIT_COLUMNS}, c.event_key, 'direct'::touch_kind as touch_kind, 1 as conversions, c.revenue
    from conversions c
    ${hitOf("c")}
    where c.workspace_id = ${q.workspaceId} and c.deleted_at is null and c.status <> 'rejected'
      -- hit_at is the converting visit's time: the range starts from the conversions' own index, and
      -- each hit is one id lookup, instead of every hit of the range joined to the conversions.
      and ${dateFilter("c", q, "hit_at")}
      and ${rawHitFilters(q)}
    union all
    select h.created_at, ${RAW_HIT_COLUMNS}, c.event_key, 'assisted'::touch_kind, 1, c.revenue
    from touches t
    join conversions c on c.workspace_id = t.workspace_id and c.id = t.conversion_id
    ${hitOf("t")}
    where t.workspace_id = ${q.workspaceId} and t.kind = 'assisted' and c.deleted_at is null
      and c.status <> 'rejected' and ${dateFilter("t", q, "hit_at")} and ${rawHitFilters(q)}`;
}

export async function reportConversionsRaw(db: Executor, q: ReportQuery): Promise<ConversionRow[]> {
  const { inner, group, outer } = selectDims(q.groupBy, (d) => rawDimension(d, q));
  const rows = await db.execute<Record<string, unknown>>(sql`
    select ${outer}, ${CONVERSION_COLUMNS} from (
      select ${inner}, ${conversionAggregates("x")}
      from (${rawContributions(q)}) x
      where (x.event_key = '' or x.event_key in (
        select e.id::text from custom_event_types e
        where e.workspace_id = ${q.workspaceId} and e.counts_as_conversion))
        ${filterSql(q.filters, (d) => rawDimension(d, q))}
      group by ${group}) s`);
  return rows.map((r) => ({ key: keyOf(r, q.groupBy), ...conversionCounts(r) }));
}

export async function reportEventsRaw(db: Executor, q: ReportQuery): Promise<EventRow[]> {
  const { inner, group, outer } = selectDims(q.groupBy, (d) => rawDimension(d, q));
  const rows = await db.execute<Record<string, unknown>>(sql`
    select ${outer}, s.event_type_id, ${CONVERSION_COLUMNS} from (
      select ${inner}, x.event_key as event_type_id, ${conversionAggregates("x")}
      from (${rawContributions(q)}) x
      where x.event_key <> '' ${filterSql(q.filters, (d) => rawDimension(d, q))}
      group by ${group}, x.event_key) s`);
  return rows.map((r) => ({
    key: keyOf(r, q.groupBy),
    eventTypeId: String(r.event_type_id),
    ...conversionCounts(r),
  }));
}

// ---------------------------------------------------------------------------------------------
// What the grid offers and remembers

export interface ReportTrackingField {
  /** The name a report groups by (`field:<name>`). */
  name: string;
  /** The traffic sources that capture it, with the entrance parameter each reads it from. */
  sources: Array<{ id: string; name: string; param: string }>;
}

/**
 * Every tracking field name of the workspace's traffic sources (archived ones included: their old
 * visits still carry the fields), and `campaign`, which every source captures in its campaign
 * parameter. Sorted by name.
 */
export async function reportTrackingFields(
  db: Executor,
  workspaceId: string,
): Promise<ReportTrackingField[]> {
  const rows = await db.execute<{ name: string; id: string; source: string; param: string }>(sql`
    select f.name, t.id::text as id, t.name as source, f.param
    from traffic_sources t
    cross join lateral jsonb_to_recordset(t.tracking_fields) as f(name text, param text)
    where t.workspace_id = ${workspaceId} and f.name is not null and f.name <> ${CAMPAIGN_FIELD}
    union all
    select ${CAMPAIGN_FIELD}, t.id::text, t.name, t.campaign_param
    from traffic_sources t where t.workspace_id = ${workspaceId}
    order by 1, 3, 2`);
  const byName = new Map<string, ReportTrackingField>();
  for (const r of rows) {
    const entry = byName.get(r.name) ?? { name: r.name, sources: [] };
    entry.sources.push({ id: r.id, name: r.source, param: r.param });
    byName.set(r.name, entry);
  }
  return [...byName.values()];
}

export interface ReportPreferenceRow {
  columns: string[];
  updatedAt: Date;
}

export async function findReportPreferences(
  db: Executor,
  input: { workspaceId: string; userId: string },
): Promise<ReportPreferenceRow | null> {
  const [row] = await db
    .select({ settings: reportPreferences.settings, updatedAt: reportPreferences.updatedAt })
    .from(reportPreferences)
    .where(
      and(eq(reportPreferences.workspaceId, input.workspaceId), eq(reportPreferences.userId, input.userId)),
    );
  return row ? { columns: row.settings.columns, updatedAt: row.updatedAt } : null;
}

export async function saveReportPreferences(
  db: Executor,
  input: { workspaceId: string; userId: string; columns: string[] },
): Promise<ReportPreferenceRow> {
  const settings = { columns: input.columns };
  const [row] = await db
    .insert(reportPreferences)
    .values({ workspaceId: input.workspaceId, userId: input.userId, settings })
    .onConflictDoUpdate({
      target: [reportPreferences.workspaceId, reportPreferences.userId],
      set: { settings, updatedAt: sql`now()` },
    })
    .returning({ settings: reportPreferences.settings, updatedAt: reportPreferences.updatedAt });
  if (!row) throw new Error("report preferences were not saved");
  return { columns: row.settings.columns, updatedAt: row.updatedAt };
}
