import { csvCell, csvNumber } from "./csv.ts";

// The report grid's columns and its CSV, in one place: the dashboard renders rows from this model and
// exports the same model, so the file holds exactly what is on screen (columns, their order, the
// expanded levels and the totals). Plain data in, plain data out.

interface Counts {
  conversions: number;
  revenue: string;
}

/** The metrics of one report row, as reports.run returns them. */
export interface GridMetrics {
  visits: number;
  pageViews: number;
  clicks: number;
  ctr: number | null;
  uniqueVisitors: number;
  bots: number;
  cost: string;
  /** Visits whose cost a cost update set, replacing what their clicks carried (0 or absent: none). */
  costUpdatedVisits?: number;
  direct: Counts | null;
  assisted: Counts | null;
  profit: string | null;
  roi: number | null;
  cr: number | null;
  epv: string | null;
  epc: string | null;
  cpa: string | null;
  events: Record<string, { direct: Counts; assisted: Counts }> | null;
}

export type MetricKind = "count" | "money" | "ratio";

export interface MetricColumn {
  key: string;
  label: string;
  kind: MetricKind;
  value: (m: GridMetrics) => number | string | null;
}

/** Every metric the grid can show, in the default order. */
export const METRIC_COLUMNS: readonly MetricColumn[] = [
  { key: "visits", label: "Visits", kind: "count", value: (m) => m.visits },
  { key: "pageViews", label: "Page views", kind: "count", value: (m) => m.pageViews },
  { key: "clicks", label: "Clicks", kind: "count", value: (m) => m.clicks },
  { key: "ctr", label: "CTR", kind: "ratio", value: (m) => m.ctr },
  { key: "uniqueVisitors", label: "Unique visitors", kind: "count", value: (m) => m.uniqueVisitors },
  { key: "conversions", label: "Conversions", kind: "count", value: (m) => m.direct?.conversions ?? null },
  { key: "cr", label: "CR", kind: "ratio", value: (m) => m.cr },
  { key: "revenue", label: "Revenue", kind: "money", value: (m) => m.direct?.revenue ?? null },
  { key: "cost", label: "Cost", kind: "money", value: (m) => m.cost },
  { key: "profit", label: "Profit", kind: "money", value: (m) => m.profit },
  { key: "roi", label: "ROI", kind: "ratio", value: (m) => m.roi },
  { key: "epv", label: "EPV", kind: "money", value: (m) => m.epv },
  { key: "epc", label: "EPC", kind: "money", value: (m) => m.epc },
  { key: "cpa", label: "CPA", kind: "money", value: (m) => m.cpa },
  {
    key: "assisted",
    label: "Assisted conversions",
    kind: "count",
    value: (m) => m.assisted?.conversions ?? null,
  },
  {
    key: "assistedRevenue",
    label: "Assisted revenue",
    kind: "money",
    value: (m) => m.assisted?.revenue ?? null,
  },
  { key: "bots", label: "Bots", kind: "count", value: (m) => m.bots },
];

/** Shown until a user picks their own. */
export const DEFAULT_METRIC_KEYS: readonly string[] = [
  "visits",
  "clicks",
  "ctr",
  "conversions",
  "cr",
  "revenue",
  "cost",
  "profit",
  "roi",
  "epc",
  "cpa",
];

/** One column per custom event type (its direct count), keyed `event:<type id>`. */
export function eventColumns(types: ReadonlyArray<{ id: string; name: string }>): MetricColumn[] {
  return types.map((t) => ({
    key: `event:${t.id}`,
    label: t.name,
    kind: "count" as const,
    value: (m: GridMetrics) => (m.events ? (m.events[t.id]?.direct.conversions ?? 0) : null),
  }));
}

/** The columns to show, in the user's order; keys no longer known are skipped. */
export function pickColumns(all: readonly MetricColumn[], keys: readonly string[]): MetricColumn[] {
  const byKey = new Map(all.map((c) => [c.key, c]));
  return keys.flatMap((k) => {
    const c = byKey.get(k);
    return c ? [c] : [];
  });
}

/** Relative change from `before` to `now` (0.25 = +25%); null when there is nothing to compare. */
export function delta(now: number | string | null, before: number | string | null): number | null {
  if (now === null || before === null) return null;
  const a = Number(now);
  const b = Number(before);
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return Math.round(((a - b) / Math.abs(b)) * 1e6) / 1e6;
}

/** One visible line of the grid: its depth, the label of its own level, its numbers. */
export interface GridLine {
  level: number;
  label: string;
  metrics: GridMetrics;
  previous?: GridMetrics | null;
}

export interface GridModel {
  /** One header per drill-down level, e.g. ["Traffic source", "zone", "Offer"]. */
  levels: string[];
  columns: readonly MetricColumn[];
  /** In display order: each expanded row followed by its children. */
  lines: readonly GridLine[];
  totals: GridMetrics;
  previousTotals?: GridMetrics | null;
  /** Show the previous period and the change beside every metric. */
  compare: boolean;
}

/** The header cells of the grid (and of its CSV). */
export function gridHeader(model: GridModel): string[] {
  return [
    ...model.levels,
    ...model.columns.flatMap((c) =>
      model.compare ? [c.label, `${c.label} (previous)`, `${c.label} change`] : [c.label],
    ),
  ];
}

/** The metric cells of one line, in header order. */
export function gridCells(
  model: GridModel,
  metrics: GridMetrics,
  previous: GridMetrics | null | undefined,
): Array<number | string | null> {
  return model.columns.flatMap((c) => {
    const now = c.value(metrics);
    if (!model.compare) return [now];
    const before = previous ? c.value(previous) : null;
    return [now, before, delta(now, before)];
  });
}

/** The grid as CSV: header, every visible line at its level's column, then the totals line. */
export function gridCsv(model: GridModel): string {
  const width = model.levels.length;
  const labelCells = (level: number, label: string) =>
    Array.from({ length: width }, (_, i) => (i === level ? label : ""));
  const line = (labels: string[], cells: Array<number | string | null>) =>
    [...labels.map(csvCell), ...cells.map(csvNumber)].join(",");
  const lines = [
    gridHeader(model).map(csvCell).join(","),
    ...model.lines.map((l) => line(labelCells(l.level, l.label), gridCells(model, l.metrics, l.previous))),
    line(labelCells(0, "Total"), gridCells(model, model.totals, model.previousTotals)),
  ];
  return `${lines.join("\r\n")}\r\n`;
}
