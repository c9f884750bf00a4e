import type { GridLine, GridMetrics, GridModel, MetricColumn } from "@hitrail/core";

// The drill-down tree of the report grid as the lines on screen: a level's rows, sorted, each
// followed by its children when expanded. The screen renders these lines and exports the same ones.

export interface LevelRow {
  key: Record<string, string | null>;
  labels: Record<string, string | null>;
  metrics: GridMetrics;
  previous: GridMetrics | null;
}

/** A drill-down parent: the dimension and the value of the row that was expanded. */
export interface ParentKey {
  dimension: string;
  value: string | null;
}

/** The identity of a node of the tree: its parents' keys. The root is "[]". */
export const pathKey = (parents: readonly ParentKey[]) =>
  JSON.stringify(parents.map((p) => [p.dimension, p.value]));

export interface ScreenLine extends GridLine {
  /** The filters this line's children are asked with (its parents and itself). */
  path: ParentKey[];
  /** Whether a deeper level exists to expand into. */
  expandable: boolean;
  expanded: boolean;
  /** Expanded, but its children are still loading. */
  loading: boolean;
  /** Set when cost updates set (part of) this row's cost: the cost cell's marker and tooltip. */
  costNote: string | null;
}

/**
 * What the cost cell's marker says when cost updates set some of a row's cost (reports.run counts
 * those visits per row, costUpdatedVisits): the cost is then not only what the clicks carried.
 */
export function costUpdateNote(metrics: GridMetrics): string | null {
  const updated = metrics.costUpdatedVisits ?? 0;
  if (updated <= 0) return null;
  const visits = `${updated.toLocaleString("en-US")} visit${updated === 1 ? "" : "s"}`;
  return updated >= metrics.visits
    ? `Cost from cost updates: all ${visits} (replacing what their clicks carried)`
    : `Cost partly from cost updates: ${visits} of ${metrics.visits.toLocaleString("en-US")} (replacing what their clicks carried)`;
}

/** Where the cost's own cell (not its previous value or change) is among a line's metric cells. */
export function costCellIndex(model: Pick<GridModel, "columns" | "compare">): number | null {
  const at = model.columns.findIndex((c) => c.key === "cost");
  if (at < 0) return null;
  return model.compare ? at * 3 : at;
}

export interface GridSort {
  /** A metric column key, or "label". */
  key: string;
  dir: 1 | -1;
}

const labelOf = (row: LevelRow, dimension: string) => row.labels[dimension] ?? row.key[dimension] ?? "(none)";

function sortRows(
  rows: readonly LevelRow[],
  dimension: string,
  sort: GridSort | null,
  columns: readonly MetricColumn[],
) {
  if (!sort) return rows;
  const column = columns.find((c) => c.key === sort.key);
  const value = (r: LevelRow): number | string =>
    sort.key === "label" || !column
      ? labelOf(r, dimension).toLowerCase()
      : Number(column.value(r.metrics) ?? -Infinity);
  return [...rows].sort((a, b) => {
    const x = value(a);
    const y = value(b);
    return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
  });
}

/**
 * The visible lines: `levels` are the grouping of each depth, `results` the rows loaded per node of
 * the tree (by pathKey), `expanded` the nodes opened. Siblings are sorted by `sort`.
 */
export function visibleLines(input: {
  levels: readonly string[];
  results: ReadonlyMap<string, readonly LevelRow[]>;
  expanded: ReadonlySet<string>;
  sort: GridSort | null;
  columns: readonly MetricColumn[];
}): ScreenLine[] {
  const out: ScreenLine[] = [];
  const walk = (parents: ParentKey[]) => {
    const depth = parents.length;
    const dimension = input.levels[depth];
    const rows = input.results.get(pathKey(parents));
    if (dimension === undefined || !rows) return;
    for (const row of sortRows(rows, dimension, input.sort, input.columns)) {
      const path = [...parents, { dimension, value: row.key[dimension] ?? null }];
      const key = pathKey(path);
      const expandable = depth + 1 < input.levels.length;
      const expanded = expandable && input.expanded.has(key);
      out.push({
        level: depth,
        label: labelOf(row, dimension),
        metrics: row.metrics,
        previous: row.previous,
        path,
        expandable,
        expanded,
        loading: expanded && !input.results.has(key),
        costNote: costUpdateNote(row.metrics),
      });
      if (expanded) walk(path);
    }
  };
  walk([]);
  return out;
}
