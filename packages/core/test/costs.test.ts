import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  costShareMicros,
  costUnitMicros,
  localCostRange,
  moneyToMicros,
  parseCostCsv,
  readCsvRecords,
  spreadCost,
  spreadCostMicros,
} from "../src/index.ts";

describe("spreading a cost over the visits of a range", () => {
  it.each([
    // total, visits, each visit's share in time order
    ["100", 3, ["33.33", "33.33", "33.34"]],
    ["100", 4, ["25", "25", "25", "25"]],
    ["0.05", 3, ["0.01", "0.02", "0.02"]],
    ["0.01", 3, ["0", "0", "0.01"]],
    ["10", 7, ["1.42", "1.43", "1.43", "1.43", "1.43", "1.43", "1.43"]],
    ["1", 1, ["1"]],
    ["0", 2, ["0", "0"]],
    // Not a whole number of cents: spread in micros so nothing is lost.
    ["0.000005", 2, ["0.000002", "0.000003"]],
    ["12.345678", 3, ["4.115226", "4.115226", "4.115226"]],
    // The remainders are spread through the range, not piled on its first visits.
    ["0.02", 4, ["0", "0.01", "0", "0.01"]],
  ])("%s over %i visits is %j", (total, n, shares) => {
    expect(spreadCost(total, n)).toEqual(shares);
  });

  it("uses the cent when the total is in whole cents, else the micro", () => {
    expect(costUnitMicros(moneyToMicros("12.34"))).toBe(10_000n);
    expect(costUnitMicros(moneyToMicros("12.345"))).toBe(1n);
  });

  it("always adds up to the total exactly, each share within one unit of the exact one", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.integer({ min: 1, max: 300 }), (total, n) => {
        const shares = spreadCostMicros(total, n);
        expect(shares.reduce((a, b) => a + b, 0n)).toBe(total);
        const unit = costUnitMicros(total);
        const floor = (total / unit / BigInt(n)) * unit;
        for (const s of shares) {
          expect(s === floor || s === floor + unit).toBe(true);
          expect(s % unit).toBe(0n);
        }
        // Any prefix of the visits (an hour, a day) holds its proportional share within one unit.
        const k = Math.floor(n / 2);
        const prefix = shares.slice(0, k).reduce((a, b) => a + b, 0n);
        const exact = (total / unit) * BigInt(k);
        expect(prefix / unit).toBe(exact / BigInt(n));
      }),
    );
  });

  it("refuses what cannot be spread", () => {
    expect(() => costShareMicros(100n, 0, 0)).toThrow(RangeError);
    expect(() => costShareMicros(100n, 2, 2)).toThrow(RangeError);
    expect(() => costShareMicros(-1n, 2, 0)).toThrow(RangeError);
  });
});

describe("localCostRange", () => {
  it.each([
    ["2026-05-01", "2026-05-01", "2026-05-01T00:00", "2026-05-02T00:00"],
    ["2026-05-01", "2026-05-03", "2026-05-01T00:00", "2026-05-04T00:00"],
    ["2026-05-01T10:00", "2026-05-01T14:00", "2026-05-01T10:00", "2026-05-01T14:00"],
    ["2026-05-01 10:30", "2026-05-01", "2026-05-01T10:30", "2026-05-02T00:00"],
    ["2026-12-31", "2026-12-31", "2026-12-31T00:00", "2027-01-01T00:00"],
  ])("%s … %s is [%s, %s)", (from, to, start, end) => {
    expect(localCostRange(from, to)).toEqual({ ok: true, range: { start, end } });
  });

  it.each([
    ["2026-02-30", "2026-03-01", "from"],
    ["2026-05-01", "yesterday", "to"],
    ["2026-05-01T24:00", "2026-05-02", "from"],
    ["2026-05-02", "2026-05-01", "to"],
    ["2026-05-01T10:00", "2026-05-01T10:00", "to"],
  ])("%s … %s is refused on %s", (from, to, field) => {
    expect(localCostRange(from, to)).toMatchObject({ ok: false, field });
  });
});

describe("cost CSV", () => {
  it("reads quoted cells, CRLF and a byte-order mark, with each record's line", () => {
    expect(readCsvRecords('\ufeffa,b\r\n"x, ""y""",2\n\n"multi\nline",3\n')).toEqual([
      { line: 1, cells: ["a", "b"] },
      { line: 2, cells: ['x, "y"', "2"] },
      { line: 4, cells: ["multi\nline", "3"] },
    ]);
  });

  it("takes the tracking field from the third column's header", () => {
    const csv = parseCostCsv("date,source,zone,amount\n2026-05-01,PropAds,z1,10.50\n2026-05-01,PropAds,,4\n");
    expect(csv).toEqual({
      field: "zone",
      rows: [
        { line: 2, date: "2026-05-01", source: "PropAds", value: "z1", amount: "10.5" },
        { line: 3, date: "2026-05-01", source: "PropAds", value: null, amount: "4" },
      ],
      problems: [],
    });
    expect(parseCostCsv("Date,Traffic Source,Cost\n2026-05-01,PropAds,3\n").rows).toEqual([
      { line: 2, date: "2026-05-01", source: "PropAds", value: null, amount: "3" },
    ]);
  });

  it.each([
    ["date,source,zone,amount\n2026-05-32,A,z,1\n", 2, /date '2026-05-32' is not a date/],
    ["date,source,zone,amount\n2026-05-01,,z,1\n", 2, /source is empty/],
    ["date,source,zone,amount\n2026-05-01,A,z,-3\n", 2, /amount '-3' is negative/],
    ["date,source,zone,amount\n2026-05-01,A,z,1e3\n", 2, /amount '1e3' is not an amount/],
    ["date,source,zone,amount\n2026-05-01,A,z,$5\n", 2, /amount '\$5' is not an amount/],
    ["date,source,zone,amount\n2026-05-01,A,z\n", 2, /has 3 columns; the header has 4/],
    ["date,source,zone,amount\n2026-05-01,A,z,1\n2026-05-01,a,z,2\n", 3, /repeats line 2/],
    ["day,amount\n", 1, /the header must be/],
    ["date,source,zone id!,amount\n", 1, /not a field name/],
    ["", 1, /empty/],
    ["date,source,amount\n", 1, /no costs/],
  ])("refuses a bad line with its number and reason (%#)", (text, line, reason) => {
    const { problems } = parseCostCsv(text);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.line).toBe(line);
    expect(problems[0]?.reason).toMatch(reason);
  });

  it("keeps the good lines and reports every bad one", () => {
    const csv = parseCostCsv(
      "date,source,amount\n2026-05-01,A,1\n2026-05-01,B,x\n2026-05-02,A,2\nnope,A,1\n",
    );
    expect(csv.rows.map((r) => r.line)).toEqual([2, 4]);
    expect(csv.problems.map((p) => p.line)).toEqual([3, 5]);
  });
});
