import type { GridLine, GridMetrics, MetricColumn } from "@hitrail/core";

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
      });
      if (expanded) walk(path);
    }
  };
  walk([]);
  return out;
}
