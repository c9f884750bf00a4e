import { microsToMoney, moneyToMicros, normalizeMoney, previousRange } from "@hitrail/core";
import {
  findFunnel,
  isFieldColumn,
  needsRawRows,
  PAGE_DIMENSIONS,
  REPORT_DIMENSIONS,
  type ReportColumn,
  type ReportDimension,
  type ReportQuery,
  reportConversions,
  reportConversionsRaw,
  reportEvents,
  reportEventsRaw,
  reportEventTypes,
  reportLabels,
  reportVisits,
  reportVisitsRaw,
  sumConversionRows,
  sumEventRows,
  sumVisitRows,
  trafficSourceQueries,
  tupleRollupsAnswer,
  VISIT_ONLY_DIMENSIONS,
  visitRollupsAnswer,
} from "@hitrail/db";
import { z } from "zod";
import { badRequest, notFound } from "../../errors.ts";
import { id } from "../../schemas/common.ts";
import { inWorkspace, workspaceService } from "../context.ts";
import { visitsWithCostUpdates } from "./cost-updates.ts";

const MAX_DAYS = 366;
const MAX_ROWS = 5_000;
const ID_DIMENSIONS: readonly string[] = ["funnel", "node", "lander", "offer", "trafficSource"];
const TIME_DIMENSIONS: readonly string[] = ["hour", "day"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const localDate = z.iso.date({ message: "must be a date such as 2026-05-17" });

/** A built-in dimension, or a tracking field by name: `field:zone`. */
export const reportColumn = z.union([
  z.enum(REPORT_DIMENSIONS),
  z
    .string()
    .regex(/^field:[A-Za-z0-9_.-]{1,64}$/, {
      message: "must be a dimension or a tracking field written field:<name> (e.g. field:zone)",
    })
    .transform((v) => v as `field:${string}`),
]);

const counts = z.object({ conversions: z.number().int(), revenue: z.string() });
const eventCounts = z.object({ direct: counts, assisted: counts });
const metrics = z.object({
  /**
   * Visits: entrances to the funnel (one per visitor journey, however many pages it sees), or, on a
   * row that names a page (node, lander, offer), the views of that page.
   */
  visits: z.number().int(),
  /** Every page hit. */
  pageViews: z.number().int(),
  /** Clicks out of a lander (lander → next node); on a lander's row, that lander's clicks. */
  clicks: z.number().int(),
  /** Clicks ÷ visits. */
  ctr: z.number().nullable(),
  /**
   * Visitors counted once: first visits to the node when the row names a page (node, lander,
   * offer), else first visits to the funnel. Totals count each visitor once per funnel.
   */
  uniqueVisitors: z.number().int(),
  /** Page hits flagged as bots: always counted here, left out of the other counts unless asked. */
  bots: z.number().int(),
  cost: z.string(),
  /** Visits whose cost a cost update set (overriding what their clicks carried); 0: clicks' cost only. */
  costUpdatedVisits: z.number().int().default(0),
  /** Conversions credited to the converting page (each conversion once). Null: not split by this dimension. */
  direct: counts.nullable(),
  /** The same conversions credited again to pages visited before the converting one. */
  assisted: counts.nullable(),
  /** Direct revenue − cost. */
  profit: z.string().nullable(),
  /** Profit ÷ cost; null without cost. */
  roi: z.number().nullable(),
  /** Direct conversions ÷ visits. */
  cr: z.number().nullable(),
  /** Direct revenue ÷ visits (earnings per visit). */
  epv: z.string().nullable(),
  /** Direct revenue ÷ clicks (earnings per click). */
  epc: z.string().nullable(),
  /** Cost ÷ direct conversions (cost per acquisition). */
  cpa: z.string().nullable(),
  /**
   * Each custom event type's count and revenue by type id (see `eventTypes`), credited along the
   * path like conversions. Types that count as conversions are in `direct`/`assisted` as well.
   */
  events: z.record(z.string(), eventCounts).nullable(),
});

type EventCounts = z.input<typeof eventCounts>;
type Metrics = z.input<typeof metrics>;

interface Counted {
  key: Record<string, string | null>;
  visits: number;
  pageViews: number;
  clicks: number;
  unique: number;
  bots: number;
  cost: string;
  costUpdatedVisits: number;
  direct: Metrics["direct"];
  assisted: Metrics["assisted"];
  events: Metrics["events"];
}

const ratio = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 1e6) / 1e6);
const per = (micros: bigint | null, n: number) =>
  micros === null || n === 0 ? null : microsToMoney(micros / BigInt(n));

export function derive(c: Omit<Counted, "key">): Metrics {
  const costMicros = moneyToMicros(c.cost);
  const revenueMicros = c.direct ? moneyToMicros(c.direct.revenue) : null;
  const profitMicros = revenueMicros === null ? null : revenueMicros - costMicros;
  return {
    visits: c.visits,
    pageViews: c.pageViews,
    clicks: c.clicks,
    ctr: ratio(c.clicks, c.visits),
    uniqueVisitors: c.unique,
    bots: c.bots,
    cost: microsToMoney(costMicros),
    costUpdatedVisits: c.costUpdatedVisits,
    direct: c.direct,
    assisted: c.assisted,
    profit: profitMicros === null ? null : microsToMoney(profitMicros),
    roi: profitMicros === null || costMicros === 0n ? null : ratio(Number(profitMicros), Number(costMicros)),
    cr: c.direct ? ratio(c.direct.conversions, c.visits) : null,
    epv: per(revenueMicros, c.visits),
    epc: per(revenueMicros, c.clicks),
    cpa: c.direct && c.direct.conversions > 0 ? per(costMicros, c.direct.conversions) : null,
    events: c.events,
  };
}

const keyString = (key: Record<string, string | null>, dims: readonly string[]) =>
  JSON.stringify(dims.map((d) => key[d] ?? null));

const eventsOf = (
  rows: ReadonlyArray<{
    eventTypeId: string;
    directConversions: number;
    directRevenue: string;
    assistedConversions: number;
    assistedRevenue: string;
  }>,
): Record<string, EventCounts> => {
  const out: Record<string, EventCounts> = {};
  for (const e of rows) {
    out[e.eventTypeId] = {
      direct: { conversions: e.directConversions, revenue: normalizeMoney(e.directRevenue) },
      assisted: { conversions: e.assistedConversions, revenue: normalizeMoney(e.assistedRevenue) },
    };
  }
  return out;
};

/** One period's rows (merged visits, conversions and events by key) and its totals. */
async function countPeriod(
  tx: Parameters<typeof reportVisits>[0],
  q: ReportQuery,
): Promise<{ rows: Map<string, Counted>; totals: Omit<Counted, "key"> }> {
  const raw = needsRawRows(q);
  // Visits and conversions by one tracking field have rollups (keyed by source, funnel, node and
  // page); two fields, or a field crossed with country, device, OS or browser, rollups by the whole
  // visit tuple. Every query by field is answered by one or the other.
  const rawRows = raw && !visitRollupsAnswer(q) && !tupleRollupsAnswer(q);
  const visitsOf = rawRows ? reportVisitsRaw : reportVisits;
  // Credited at conversion time, conversions come from their rollups in the conversion's hour
  // (reportConversions picks them); visits and cost stay at the visit's time.
  const conversionsOf = rawRows ? reportConversionsRaw : reportConversions;
  const eventRowsOf = rawRows ? reportEventsRaw : reportEvents;
  const visitOnly = q.groupBy.some((d) => VISIT_ONLY_DIMENSIONS.includes(d as ReportDimension));
  const [visitRows, conversionRows, eventRows, conversionTotals, eventTotalRows] = await Promise.all([
    visitsWithCostUpdates(tx, q, raw, visitsOf),
    visitOnly ? Promise.resolve([]) : conversionsOf(tx, q),
    visitOnly ? Promise.resolve([]) : eventRowsOf(tx, q),
    visitOnly ? reportConversions(tx, { ...q, groupBy: [] }) : Promise.resolve(null),
    visitOnly ? reportEvents(tx, { ...q, groupBy: [] }) : Promise.resolve(null),
  ]);
  const pageLevel = q.groupBy.some((d) => PAGE_DIMENSIONS.includes(d as ReportDimension));
  const zero = () => ({ conversions: 0, revenue: "0" });
  const blank = (key: Record<string, string | null>): Counted => ({
    key,
    visits: 0,
    pageViews: 0,
    clicks: 0,
    unique: 0,
    bots: 0,
    cost: "0",
    costUpdatedVisits: 0,
    direct: visitOnly ? null : zero(),
    assisted: visitOnly ? null : zero(),
    events: visitOnly ? null : {},
  });
  const merged = new Map<string, Counted>();
  for (const v of visitRows) {
    merged.set(keyString(v.key, q.groupBy), {
      ...blank(v.key),
      visits: pageLevel ? v.visits : v.entrances,
      pageViews: v.visits,
      clicks: v.clicks,
      unique: pageLevel ? v.uniqueNode : v.uniqueFunnel,
      bots: v.bots,
      cost: v.cost,
      costUpdatedVisits: v.costUpdatedVisits,
    });
  }
  for (const c of conversionRows) {
    const k = keyString(c.key, q.groupBy);
    const row = merged.get(k) ?? blank(c.key);
    row.direct = { conversions: c.directConversions, revenue: normalizeMoney(c.directRevenue) };
    row.assisted = { conversions: c.assistedConversions, revenue: normalizeMoney(c.assistedRevenue) };
    merged.set(k, row);
  }
  for (const e of eventRows) {
    const k = keyString(e.key, q.groupBy);
    const row = merged.get(k) ?? blank(e.key);
    row.events = { ...(row.events ?? {}), ...eventsOf([e]) };
    merged.set(k, row);
  }
  // Totals are sums of the grouped rows (before any truncation); only a grouping the conversion
  // rollups cannot split needs the conversion totals asked for separately.
  const v = sumVisitRows(visitRows);
  const c = conversionTotals?.[0] ?? sumConversionRows(conversionRows);
  return {
    rows: merged,
    totals: {
      // A visitor's journey is one visit whoever groups it: the totals count entrances.
      visits: v.entrances,
      pageViews: v.visits,
      clicks: v.clicks,
      unique: v.uniqueFunnel,
      bots: v.bots,
      cost: v.cost,
      costUpdatedVisits: visitRows.reduce((n, row) => n + row.costUpdatedVisits, 0),
      direct: { conversions: c?.directConversions ?? 0, revenue: normalizeMoney(c?.directRevenue ?? "0") },
      assisted: {
        conversions: c?.assistedConversions ?? 0,
        revenue: normalizeMoney(c?.assistedRevenue ?? "0"),
      },
      events: eventsOf(eventTotalRows ?? sumEventRows(eventRows)),
    },
  };
}

export const reportInput = z.object({
  from: localDate,
  to: localDate,
  groupBy: z
    .array(reportColumn)
    .max(3, { message: "must name at most three dimensions" })
    .refine((dims) => new Set(dims).size === dims.length, { message: "must not name a dimension twice" })
    .default([]),
  /**
   * Drill-down: only rows whose dimensions have these values (the keys of the parent rows, as
   * reports.run returned them; null for "(none)").
   */
  filters: z
    .array(z.object({ dimension: reportColumn, value: z.string().max(1024).nullable() }))
    .max(6, { message: "must name at most six filters" })
    .default([]),
  /** Count bot hits in visits, page views, clicks and unique visitors (they are always in `bots`). */
  includeBots: z.boolean().default(false),
  /** Also count the period of the same length right before, for deltas. */
  compare: z.boolean().default(false),
  funnelId: id.optional(),
  trafficSourceId: id.optional(),
  /** The tracking field the `trackingField` dimension groups by, by name (e.g. "zone"). */
  trackingField: z.string().trim().min(1).max(64).optional(),
  /**
   * Credit conversions at the time of the visit that earned them (default: delayed revenue lands
   * on the click's day, as search arbitrage needs) or at the time they happened.
   */
  creditAt: z.enum(["visit", "conversion"]).default("visit"),
});

/**
 * Visits (entrances), page views, clicks, conversions, revenue, cost and the ratios buyers read
 * (CTR, CR, ROI, EPV, EPC, CPA) for a range of the workspace's local dates, grouped by up to three
 * dimensions or tracking fields and filtered by drill-down parents, read from the rollups (raw rows
 * for cost updates by tracking field only), conversions credited at the visit's time or at their
 * own. Direct and assisted conversions are shown apart; profit and the
 * ratios use direct revenue, so nothing counts twice. Optionally the previous period beside it.
 */
export const runReport = workspaceService({
  role: "viewer",
  input: reportInput,
  output: z.object({
    timeZone: z.string(),
    from: z.string(),
    to: z.string(),
    /** The period compared with (same length, right before), when asked. */
    previous: z.object({ from: z.string(), to: z.string() }).nullable(),
    groupBy: z.array(z.string()),
    /** The columns of `metrics.events`. */
    eventTypes: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        alias: z.string(),
        hasRevenue: z.boolean(),
        countsAsConversion: z.boolean(),
        archived: z.boolean(),
      }),
    ),
    rows: z.array(
      z.object({
        key: z.record(z.string(), z.string().nullable()),
        labels: z.record(z.string(), z.string().nullable()),
        metrics,
        /** The same row in the previous period (zeros when it had none); null without `compare`. */
        previous: metrics.nullable(),
      }),
    ),
    totals: metrics,
    previousTotals: metrics.nullable(),
    truncated: z.boolean(),
    notes: z.array(z.string()),
  }),
  run: ({ ctx, input }) => {
    const days = (Date.parse(input.to) - Date.parse(input.from)) / 86_400_000;
    if (days < 0) throw badRequest("to: must not be before from");
    if (days >= MAX_DAYS) throw badRequest(`to: a report covers at most ${MAX_DAYS} days`);
    if (input.groupBy.includes("trackingField") && !input.trackingField) {
      throw badRequest("trackingField: name the tracking field to group by (e.g. zone)");
    }
    input.filters.forEach((f, i) => {
      if (f.value !== null && ID_DIMENSIONS.includes(f.dimension) && !UUID.test(f.value)) {
        throw badRequest(`filters[${i}].value: must be an id for ${f.dimension}`);
      }
    });
    const groupBy = input.groupBy as ReportColumn[];
    const q: ReportQuery = {
      workspaceId: ctx.workspace.id,
      timeZone: ctx.workspace.timeZone,
      fromDate: input.from,
      toDate: input.to,
      groupBy,
      filters: input.filters,
      includeBots: input.includeBots,
      ...(input.funnelId ? { funnelId: input.funnelId } : {}),
      ...(input.trafficSourceId ? { trafficSourceId: input.trafficSourceId } : {}),
      ...(input.trackingField ? { trackingField: input.trackingField } : {}),
      creditAt: input.creditAt,
    };
    const prevRange = input.compare ? previousRange({ from: input.from, to: input.to }) : null;
    return inWorkspace(ctx, async (tx) => {
      // Filters name objects: another workspace's id is "not found", not an empty report.
      if (
        input.funnelId &&
        !(await findFunnel(tx, { workspaceId: ctx.workspace.id, funnelId: input.funnelId }))
      ) {
        throw notFound("funnel");
      }
      if (
        input.trafficSourceId &&
        !(await trafficSourceQueries.find(tx, { workspaceId: ctx.workspace.id, id: input.trafficSourceId }))
      ) {
        throw notFound("traffic source");
      }
      const [current, before, eventTypes] = await Promise.all([
        countPeriod(tx, q),
        prevRange ? countPeriod(tx, { ...q, fromDate: prevRange.from, toDate: prevRange.to }) : null,
        reportEventTypes(tx, ctx.workspace.id),
      ]);

      const timeFirst = groupBy.length > 0 && TIME_DIMENSIONS.includes(groupBy[0] as string);
      const first = groupBy[0] as string;
      const sorted = [...current.rows.entries()].sort(([, x], [, y]) =>
        timeFirst
          ? String(x.key[first]).localeCompare(String(y.key[first])) || y.visits - x.visits
          : y.visits - x.visits,
      );
      const truncated = sorted.length > MAX_ROWS;
      const shown = sorted.slice(0, MAX_ROWS);

      const ids = new Set<string>();
      for (const [, r] of shown)
        for (const d of groupBy) if (ID_DIMENSIONS.includes(d) && r.key[d]) ids.add(r.key[d] as string);
      const names = await reportLabels(tx, { workspaceId: ctx.workspace.id, ids: [...ids] });

      const notes: string[] = [];
      if (needsRawRows(q)) {
        const fields = [
          ...groupBy.filter(isFieldColumn),
          ...(input.trackingField ? [input.trackingField] : []),
          ...input.filters.map((f) => f.dimension).filter(isFieldColumn),
        ].map((d) => d.replace(/^field:/, ""));
        notes.push(
          `by tracking field '${[...new Set(fields)].join("', '")}': ${input.creditAt === "conversion" ? `${visitRollupsAnswer(q) ? "visits read from the rollups by field" : "visits read from the rollups by visit tuple"}, conversions from the rollups at conversion time` : visitRollupsAnswer(q) ? "read from the rollups by field" : tupleRollupsAnswer(q) ? "read from the rollups by visit tuple" : "read from raw visits and conversions"}`,
        );
      }
      if (current.totals.costUpdatedVisits > 0) {
        notes.push(
          `cost of ${current.totals.costUpdatedVisits} visit(s) is from cost updates, which replace what their clicks carried (costUpdatedVisits per row)`,
        );
      }
      if (input.creditAt === "conversion") {
        notes.push(
          "conversions are credited at the time they happened, visits and cost at the time of the visit",
        );
      }
      if (!input.includeBots)
        notes.push("bots are left out of visits, page views, clicks and unique visitors");
      const zeroPrevious = (): Omit<Counted, "key"> => ({
        visits: 0,
        pageViews: 0,
        clicks: 0,
        unique: 0,
        bots: 0,
        cost: "0",
        costUpdatedVisits: 0,
        direct: { conversions: 0, revenue: "0" },
        assisted: { conversions: 0, revenue: "0" },
        events: {},
      });
      return {
        timeZone: q.timeZone,
        from: input.from,
        to: input.to,
        previous: prevRange,
        groupBy,
        eventTypes,
        rows: shown.map(([k, r]) => ({
          key: r.key,
          labels: Object.fromEntries(
            groupBy.map((d) => [
              d,
              ID_DIMENSIONS.includes(d) && r.key[d]
                ? (names.get(r.key[d] as string) ?? null)
                : (r.key[d] ?? null),
            ]),
          ),
          metrics: derive(r),
          previous: before ? derive(before.rows.get(k) ?? zeroPrevious()) : null,
        })),
        totals: derive(current.totals),
        previousTotals: before ? derive(before.totals) : null,
        truncated,
        notes,
      };
    });
  },
});
