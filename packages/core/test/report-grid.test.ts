import { describe, expect, it } from "vitest";
import { DEFAULT_METRIC_KEYS, delta, eventColumns, METRIC_COLUMNS, pickColumns } from "../src/index.ts";

describe("delta: the change from the previous period", () => {
  it.each([
    [125, 100, 0.25],
    [75, 100, -0.25],
    ["12.5", "10", 0.25],
    // From a loss to a smaller loss is an improvement.
    [-5, -10, 0.5],
    [0, 0, null],
    [5, 0, null],
    [null, 3, null],
    [3, null, null],
    [1, 3, -0.666667],
  ] as const)("%s against %s is %s", (now, before, expected) => {
    expect(delta(now, before)).toBe(expected);
  });
});

describe("pickColumns", () => {
  const all = [...METRIC_COLUMNS, ...eventColumns([{ id: "e1", name: "lead" }])];
  it.each([
    [
      ["revenue", "visits"],
      ["Revenue", "Visits"],
    ],
    [
      ["event:e1", "cpa"],
      ["lead", "CPA"],
    ],
    // A column that no longer exists (an event type deleted since) is skipped.
    [["event:gone", "epc"], ["EPC"]],
  ])("%j shows %j", (keys, labels) => {
    expect(pickColumns(all, keys).map((c) => c.label)).toEqual(labels);
  });
  it("every default key is a known column", () => {
    expect(pickColumns(METRIC_COLUMNS, DEFAULT_METRIC_KEYS)).toHaveLength(DEFAULT_METRIC_KEYS.length);
  });
});
