import { microsToMoney, moneyToMicros, normalizeMoney } from "@hitrail/core";
import {
  findFunnel,
  PAGE_DIMENSIONS,
  RAW_DIMENSIONS,
  REPORT_DIMENSIONS,
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
  VISIT_ONLY_DIMENSIONS,
} from "@hitrail/db";
import { z } from "zod";
import { badRequest, notFound } from "../../errors.ts";
import { id } from "../../schemas/common.ts";
import { inWorkspace, workspaceService } from "../context.ts";
import { visitsWithCostUpdates } from "./cost-updates.ts";

const MAX_DAYS = 366;
const MAX_ROWS = 5_000;
const ID_DIMENSIONS: readonly ReportDimension[] = ["funnel", "node", "lander", "offer", "trafficSource"];
const TIME_DIMENSIONS: readonly ReportDimension[] = ["hour", "day"];

const localDate = z.iso.date({ message: "must be a date such as 2026-05-17" });

const counts = z.object({ conversions: z.number().int(), revenue: z.string() });
const eventCounts = z.object({ direct: counts, assisted: counts });
const metrics = z.object({
  visits: z.number().int(),
  /**
   * Visitors counted once: first visits to the node when the row names a page (node, lander,
   * offer), else first visits to the funnel. Totals count each visitor once per funnel.
   */
  uniqueVisitors: z.number().int(),
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
  /**
   * Each custom event type's count and revenue by type id (see `eventTypes`), credited along the
   * path like conversions. Types that count as conversions are in `direct`/`assisted` as well.
   */
  events: z.record(z.string(), eventCounts).nullable(),
});

type EventCounts = z.input<typeof eventCounts>;

type Metrics = z.input<typeof metrics>;

function derive(
  visits: number,
  uniqueVisitors: number,
  bots: number,
  cost: string,
  direct: Metrics["direct"],
  assisted: Metrics["assisted"],
  events: Metrics["events"],
): Metrics {
  const costMicros = moneyToMicros(cost);
  const revenueMicros = direct ? moneyToMicros(direct.revenue) : null;
  const profitMicros = revenueMicros === null ? null : revenueMicros - costMicros;
  const ratio = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 1e6) / 1e6);
  return {
    visits,
    uniqueVisitors,
    bots,
    cost: microsToMoney(costMicros),
    direct,
    assisted,
    profit: profitMicros === null ? null : microsToMoney(profitMicros),
    roi: profitMicros === null || costMicros === 0n ? null : ratio(Number(profitMicros), Number(costMicros)),
    cr: direct ? ratio(direct.conversions, visits) : null,
    epv: revenueMicros === null || visits === 0 ? null : microsToMoney(revenueMicros / BigInt(visits)),
    events,
  };
}

const keyString = (key: Record<string, string | null>, dims: ReportDimension[]) =>
  JSON.stringify(dims.map((d) => key[d] ?? null));

/**
 * Visits, conversions, revenue, cost, profit, ROI, CR and EPV for a range of the workspace's local
 * dates, grouped by up to three dimensions, read from the hourly rollups. Direct and assisted
 * conversions are shown apart; profit and the ratios use direct revenue, so nothing counts twice.
 * Conversions are split by country, device, OS and browser of the visit they credit.
 */
export const runReport = workspaceService({
  role: "viewer",
  input: z.object({
    from: localDate,
    to: localDate,
    groupBy: z
      .array(z.enum(REPORT_DIMENSIONS))
      .max(3, { message: "must name at most three dimensions" })
      .refine((dims) => new Set(dims).size === dims.length, { message: "must not name a dimension twice" })
      .default([]),
    funnelId: id.optional(),
    trafficSourceId: id.optional(),
    /** The tracking field the `trackingField` dimension groups by, by name (e.g. "zone"). */
    trackingField: z.string().trim().min(1).max(64).optional(),
    /**
     * Credit conversions at the time of the visit that earned them (default: delayed revenue lands
     * on the click's day, as search arbitrage needs) or at the time they happened.
     */
    creditAt: z.enum(["visit", "conversion"]).default("visit"),
  }),
  output: z.object({
    timeZone: z.string(),
    from: z.string(),
    to: z.string(),
    groupBy: z.array(z.enum(REPORT_DIMENSIONS)),
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
      }),
    ),
    totals: metrics,
    truncated: z.boolean(),
    notes: z.array(z.string()),
  }),
  run: ({ ctx, input }) => {
    const days = (Date.parse(input.to) - Date.parse(input.from)) / 86_400_000;
    if (days < 0) throw badRequest("to: must not be before from");
    if (days >= MAX_DAYS) throw badRequest(`to: a report covers at most ${MAX_DAYS} days`);
    const q: ReportQuery = {
      workspaceId: ctx.workspace.id,
      timeZone: ctx.workspace.timeZone,
      fromDate: input.from,
      toDate: input.to,
      groupBy: input.groupBy,
      ...(input.funnelId ? { funnelId: input.funnelId } : {}),
      ...(input.trafficSourceId ? { trafficSourceId: input.trafficSourceId } : {}),
      ...(input.trackingField ? { trackingField: input.trackingField } : {}),
      creditAt: input.creditAt,
    };
    if (input.groupBy.includes("trackingField") && !input.trackingField) {
      throw badRequest("trackingField: name the tracking field to group by (e.g. zone)");
    }
    const raw = input.groupBy.some((d) => RAW_DIMENSIONS.includes(d));
    const visitsOf = raw ? reportVisitsRaw : reportVisits;
    // The rollups are kept by visit hour; crediting at conversion time reads the conversions of the range.
    const rawConversions = raw || input.creditAt === "conversion";
    const conversionsOf = rawConversions ? reportConversionsRaw : reportConversions;
    const eventRowsOf = rawConversions ? reportEventsRaw : reportEvents;
    const visitOnly = input.groupBy.filter((d) => VISIT_ONLY_DIMENSIONS.includes(d));
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
      // Totals are sums of the grouped rows; only a grouping the conversion rollups cannot split
      // (country, device) needs the conversion totals asked for separately.
      const [visitRows, conversionRows, eventRows, eventTypes, conversionTotals, eventTotalRows] =
        await Promise.all([
          visitsWithCostUpdates(tx, q, raw, visitsOf),
          visitOnly.length > 0 ? Promise.resolve([]) : conversionsOf(tx, q),
          visitOnly.length > 0 ? Promise.resolve([]) : eventRowsOf(tx, q),
          reportEventTypes(tx, ctx.workspace.id),
          visitOnly.length > 0 ? reportConversions(tx, { ...q, groupBy: [] }) : Promise.resolve(null),
          visitOnly.length > 0 ? reportEvents(tx, { ...q, groupBy: [] }) : Promise.resolve(null),
        ]);
      const visitTotal = sumVisitRows(visitRows);
      const conversionTotal = conversionTotals?.[0] ?? sumConversionRows(conversionRows);
      const eventTotals = eventTotalRows ?? sumEventRows(eventRows);
      const eventsOf = (rows: typeof eventRows): Record<string, EventCounts> => {
        const out: Record<string, EventCounts> = {};
        for (const e of rows) {
          out[e.eventTypeId] = {
            direct: { conversions: e.directConversions, revenue: normalizeMoney(e.directRevenue) },
            assisted: { conversions: e.assistedConversions, revenue: normalizeMoney(e.assistedRevenue) },
          };
        }
        return out;
      };

      const pageLevel = q.groupBy.some((d) => PAGE_DIMENSIONS.includes(d));
      const merged = new Map<
        string,
        {
          key: Record<string, string | null>;
          visits: number;
          unique: number;
          bots: number;
          cost: string;
          costUpdatedVisits: number;
          direct: Metrics["direct"];
          assisted: Metrics["assisted"];
          events: Metrics["events"];
        }
      >();
      const zero = () => ({ conversions: 0, revenue: "0" });
      for (const v of visitRows) {
        merged.set(keyString(v.key, q.groupBy), {
          key: v.key,
          visits: v.visits,
          unique: pageLevel ? v.uniqueNode : v.uniqueFunnel,
          bots: v.bots,
          cost: v.cost,
          costUpdatedVisits: v.costUpdatedVisits,
          direct: visitOnly.length > 0 ? null : zero(),
          assisted: visitOnly.length > 0 ? null : zero(),
          events: visitOnly.length > 0 ? null : {},
        });
      }
      for (const c of conversionRows) {
        const k = keyString(c.key, q.groupBy);
        const row = merged.get(k) ?? {
          key: c.key,
          visits: 0,
          unique: 0,
          bots: 0,
          cost: "0",
          costUpdatedVisits: 0,
          direct: zero(),
          assisted: zero(),
          events: {},
        };
        row.direct = { conversions: c.directConversions, revenue: normalizeMoney(c.directRevenue) };
        row.assisted = { conversions: c.assistedConversions, revenue: normalizeMoney(c.assistedRevenue) };
        merged.set(k, row);
      }
      for (const e of eventRows) {
        const k = keyString(e.key, q.groupBy);
        const row = merged.get(k) ?? {
          key: e.key,
          visits: 0,
          unique: 0,
          bots: 0,
          cost: "0",
          costUpdatedVisits: 0,
          direct: zero(),
          assisted: zero(),
          events: {},
        };
        row.events = { ...(row.events ?? {}), ...eventsOf([e]) };
        merged.set(k, row);
      }

      const timeFirst = q.groupBy.length > 0 && TIME_DIMENSIONS.includes(q.groupBy[0] as ReportDimension);
      const sorted = [...merged.values()].sort((x, y) =>
        timeFirst
          ? String(x.key[q.groupBy[0] as string]).localeCompare(String(y.key[q.groupBy[0] as string])) ||
            y.visits - x.visits
          : y.visits - x.visits,
      );
      const truncated = sorted.length > MAX_ROWS;
      const shown = sorted.slice(0, MAX_ROWS);

      const ids = new Set<string>();
      for (const r of shown)
        for (const d of q.groupBy) if (ID_DIMENSIONS.includes(d) && r.key[d]) ids.add(r.key[d] as string);
      const names = await reportLabels(tx, { workspaceId: ctx.workspace.id, ids: [...ids] });

      const totalDirect = {
        conversions: conversionTotal?.directConversions ?? 0,
        revenue: normalizeMoney(conversionTotal?.directRevenue ?? "0"),
      };
      const totalAssisted = {
        conversions: conversionTotal?.assistedConversions ?? 0,
        revenue: normalizeMoney(conversionTotal?.assistedRevenue ?? "0"),
      };
      const notes: string[] = [];
      const costUpdatedVisits = visitRows.reduce((n, v) => n + v.costUpdatedVisits, 0);
      if (costUpdatedVisits > 0) {
        notes.push(
          `cost of ${costUpdatedVisits} visit(s) is from cost updates, which replace what their clicks carried (costUpdatedVisits per row)`,
        );
      }
      if (raw)
        notes.push(`grouped by tracking field '${q.trackingField}': read from raw visits and conversions`);
      if (input.creditAt === "conversion") {
        notes.push(
          "conversions are credited at the time they happened, visits and cost at the time of the visit",
        );
      }
      if (visitOnly.length > 0) {
        notes.push(
          `conversions are not recorded by ${visitOnly.join(" or ")} in the rollups, so rows show visits and cost only; totals include conversions`,
        );
      }
      return {
        timeZone: q.timeZone,
        from: input.from,
        to: input.to,
        groupBy: q.groupBy,
        eventTypes,
        rows: shown.map((r) => ({
          key: r.key,
          labels: Object.fromEntries(
            q.groupBy.map((d) => [
              d,
              ID_DIMENSIONS.includes(d) && r.key[d]
                ? (names.get(r.key[d] as string) ?? null)
                : (r.key[d] ?? null),
            ]),
          ),
          metrics: {
            ...derive(r.visits, r.unique, r.bots, r.cost, r.direct, r.assisted, r.events),
            costUpdatedVisits: r.costUpdatedVisits,
          },
        })),
        totals: {
          ...derive(
            visitTotal.visits,
            visitTotal.uniqueFunnel,
            visitTotal.bots,
            visitTotal.cost,
            totalDirect,
            totalAssisted,
            eventsOf(eventTotals),
          ),
          costUpdatedVisits,
        },
        truncated,
        notes,
      };
    });
  },
});
