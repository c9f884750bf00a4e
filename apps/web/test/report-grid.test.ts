import {
  eventColumns,
  type GridMetrics,
  type GridModel,
  gridCells,
  gridCsv,
  gridHeader,
  METRIC_COLUMNS,
  pickColumns,
} from "@hitrail/core";
import { describe, expect, it } from "vitest";
import { costCellIndex, costUpdateNote, type LevelRow, pathKey, visibleLines } from "../src/report-grid.ts";

// The grid's export is built from the very lines the screen renders: same header, same lines at
// the same levels in the same order, same totals. These tests hold the two together.

function metrics(visits: number, revenue: string, cost = "0"): GridMetrics {
  return {
    visits,
    pageViews: visits * 2,
    clicks: visits,
    ctr: visits ? 1 : null,
    uniqueVisitors: visits,
    bots: 0,
    cost,
    direct: { conversions: 1, revenue },
    assisted: { conversions: 0, revenue: "0" },
    profit: revenue,
    roi: null,
    cr: visits ? 1 / visits : null,
    epv: null,
    epc: null,
    cpa: null,
    events: { e1: { direct: { conversions: 3, revenue: "0" }, assisted: { conversions: 0, revenue: "0" } } },
  };
}

const row = (
  key: Record<string, string | null>,
  label: string,
  m: GridMetrics,
  previous: GridMetrics | null = null,
): LevelRow => ({
  key,
  labels: Object.fromEntries(Object.keys(key).map((k) => [k, label])),
  metrics: m,
  previous,
});

const levels = ["trafficSource", "field:zone", "offer"];
const tsA = { dimension: "trafficSource", value: "ts-a" };
const results = new Map<string, LevelRow[]>([
  [
    pathKey([]),
    [
      row({ trafficSource: "ts-b" }, "Beta", metrics(5, "2")),
      row({ trafficSource: "ts-a" }, "=Alpha", metrics(9, "30", "4")),
    ],
  ],
  [
    pathKey([tsA]),
    [
      row({ "field:zone": "z1" }, "z1", metrics(6, "20")),
      row({ "field:zone": null }, "(none)", metrics(3, "10")),
    ],
  ],
  [
    pathKey([tsA, { dimension: "field:zone", value: "z1" }]),
    [row({ offer: "o1" }, "Offer 1", metrics(1, "20"))],
  ],
]);
const expanded = new Set([pathKey([tsA]), pathKey([tsA, { dimension: "field:zone", value: "z1" }])]);

describe("visibleLines", () => {
  it("puts each expanded row's children right under it, sorted among siblings", () => {
    const columns = pickColumns(METRIC_COLUMNS, ["visits", "revenue"]);
    const lines = visibleLines({ levels, results, expanded, sort: { key: "visits", dir: -1 }, columns });
    expect(lines.map((l) => [l.level, l.label, l.metrics.visits, l.expanded])).toEqual([
      [0, "=Alpha", 9, true],
      [1, "z1", 6, true],
      [2, "Offer 1", 1, false],
      [1, "(none)", 3, false],
      [0, "Beta", 5, false],
    ]);
    // The children of a row are asked for with its parents' keys.
    expect(lines[2]?.path).toEqual([
      tsA,
      { dimension: "field:zone", value: "z1" },
      { dimension: "offer", value: "o1" },
    ]);
    const byLabel = visibleLines({
      levels,
      results,
      expanded: new Set(),
      sort: { key: "label", dir: 1 },
      columns,
    });
    expect(byLabel.map((l) => l.label)).toEqual(["=Alpha", "Beta"]);
  });

  it("marks an expanded row whose children are not loaded yet", () => {
    const open = new Set([pathKey([{ dimension: "trafficSource", value: "ts-b" }])]);
    const lines = visibleLines({ levels, results, expanded: open, sort: null, columns: [] });
    expect(lines.find((l) => l.label === "Beta")).toMatchObject({ expanded: true, loading: true });
  });
});

describe("gridCsv", () => {
  const columns = pickColumns(
    [...METRIC_COLUMNS, ...eventColumns([{ id: "e1", name: "lead" }])],
    ["revenue", "visits", "event:e1"],
  );
  it("writes the header, every visible line at its level and the totals: exactly the cells on screen", () => {
    const lines = visibleLines({ levels, results, expanded, sort: { key: "visits", dir: -1 }, columns });
    const model: GridModel = {
      levels: ["Traffic source", "zone", "Offer"],
      columns,
      lines,
      totals: metrics(14, "32", "4"),
      compare: false,
    };
    const csv = gridCsv(model).trimEnd().split("\r\n");
    expect(csv[0]).toBe(gridHeader(model).join(","));
    expect(csv[0]).toBe("Traffic source,zone,Offer,Revenue,Visits,lead");
    expect(csv.slice(1)).toEqual([
      // Text that could run as a formula is neutralised.
      `"'=Alpha",,,30,9,3`,
      ",z1,,20,6,3",
      ",,Offer 1,20,1,3",
      ",(none),,10,3,3",
      "Beta,,,2,5,3",
      "Total,,,32,14,3",
    ]);
    // Each line's numbers are the screen's cells for it.
    lines.forEach((l, i) => {
      expect(csv[i + 1]?.split(",").slice(3)).toEqual(gridCells(model, l.metrics, l.previous).map(String));
    });
  });

  it("with comparison, every metric has its previous value and change beside it", () => {
    const compareResults = new Map([
      [pathKey([]), [row({ trafficSource: "a" }, "A", metrics(10, "30"), metrics(8, "20"))]],
    ]);
    const lines = visibleLines({
      levels: ["trafficSource"],
      results: compareResults,
      expanded: new Set(),
      sort: null,
      columns,
    });
    const model: GridModel = {
      levels: ["Traffic source"],
      columns: pickColumns(METRIC_COLUMNS, ["visits", "revenue"]),
      lines,
      totals: metrics(10, "30"),
      previousTotals: metrics(8, "20"),
      compare: true,
    };
    expect(gridCsv(model).split("\r\n").slice(0, 3)).toEqual([
      "Traffic source,Visits,Visits (previous),Visits change,Revenue,Revenue (previous),Revenue change",
      "A,10,8,0.25,30,20,0.5",
      "Total,10,8,0.25,30,20,0.5",
    ]);
  });
});

describe("the cost cell's mark for costs from cost updates", () => {
  const withUpdated = (visits: number, updated: number) => ({
    ...metrics(visits, "10", "25"),
    costUpdatedVisits: updated,
  });

  it("marks a row whose cost came wholly or partly from cost updates, and says how much", () => {
    const lines = visibleLines({
      levels: ["trafficSource"],
      results: new Map([
        [
          pathKey([]),
          [
            row({ trafficSource: "all" }, "All updated", withUpdated(4, 4)),
            row({ trafficSource: "part" }, "Partly", withUpdated(1200, 3)),
            row({ trafficSource: "none" }, "Clicks only", withUpdated(7, 0)),
            row({ trafficSource: "old" }, "No count", metrics(2, "1")),
          ],
        ],
      ]),
      expanded: new Set(),
      sort: null,
      columns: pickColumns(METRIC_COLUMNS, ["visits", "cost"]),
    });
    expect(lines.map((l) => [l.label, l.costNote])).toEqual([
      ["All updated", "Cost from cost updates: all 4 visits (replacing what their clicks carried)"],
      ["Partly", "Cost partly from cost updates: 3 visits of 1,200 (replacing what their clicks carried)"],
      ["Clicks only", null],
      ["No count", null],
    ]);
    expect(costUpdateNote(withUpdated(1, 1))).toBe(
      "Cost from cost updates: all 1 visit (replacing what their clicks carried)",
    );
  });

  it("sits on the cost's own cell, with or without the comparison columns, and not without a cost column", () => {
    const columns = pickColumns(METRIC_COLUMNS, ["visits", "revenue", "cost"]);
    const plain = { columns, compare: false };
    const compared = { columns, compare: true };
    const m = withUpdated(4, 4);
    expect(
      gridCells({ ...plain, levels: [], lines: [], totals: m }, m, null)[costCellIndex(plain) ?? -1],
    ).toBe("25");
    expect(
      gridCells({ ...compared, levels: [], lines: [], totals: m }, m, m)[costCellIndex(compared) ?? -1],
    ).toBe("25");
    expect(costCellIndex(compared)).toBe(6);
    expect(costCellIndex({ columns: pickColumns(METRIC_COLUMNS, ["visits"]), compare: false })).toBeNull();
  });
});
