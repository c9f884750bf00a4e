import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addMoney,
  compareMoney,
  isMoney,
  isUnreplacedMacro,
  microsToMoney,
  moneyEquals,
  moneyToMicros,
  normalizeMoney,
  PENDING_REVENUE,
  parseRevenue,
  REJECTED_REVENUE,
  subtractMoney,
} from "../src/index.ts";

// Built, not written, so the linter does not take it for a broken template literal.
const DOLLAR_BRACE_MACRO = ["$", "{payout}"].join("");

describe("parseRevenue", () => {
  it.each([
    ["12.5", "12.5"],
    ["12.50", "12.5"],
    ["12,50", "12.5"],
    [" 12.5 ", "12.5"],
    ["+3", "3"],
    ["-5", "-5"],
    ["-0", "0"],
    ["0", "0"],
    ["30", "30"],
    ["30.000000", "30"],
    ["0.01", "0.01"],
    [".5", "0.5"],
    ["5.", "5"],
    ["007", "7"],
    ["1,234", "1.234"],
    ["0.123456", "0.123456"],
    ["0.1234564", "0.123456"],
    ["0.1234565", "0.123457"],
    ["-0.1234565", "-0.123457"],
    ["999999999999.999999", "999999999999.999999"],
  ])("%j is the value %j", (raw, value) => {
    expect(parseRevenue(raw)).toEqual({ kind: "value", value });
  });

  it.each([
    [undefined],
    [null],
    [""],
    ["   "],
    ["{payout}"],
    ["{{payout}}"],
    ["[payout]"],
    ["%payout%"],
    ["#payout#"],
    ["$payout"],
    [DOLLAR_BRACE_MACRO],
    ["<payout>"],
    ["REPLACE"],
  ])("%j is absent (the offer's default payout applies)", (raw) => {
    expect(parseRevenue(raw)).toEqual({ kind: "absent" });
  });

  it.each([
    ["abc", "rev 'abc' is not a number"],
    ["1e2", "rev '1e2' is not a number (exponents are not accepted)"],
    ["1,234.50", "rev '1,234.50' is not a number (thousands separators are not accepted)"],
    ["1.234,50", "rev '1.234,50' is not a number (thousands separators are not accepted)"],
    ["NaN", "rev 'NaN' is not a number"],
    ["Infinity", "rev 'Infinity' is not a number"],
    ["$12.50", "rev '$12.50' is not a number"],
    ["12.50 USD", "rev '12.50 USD' is not a number"],
    ["1.2.3", "rev '1.2.3' is not a number"],
    ["--5", "rev '--5' is not a number"],
    [".", "rev '.' is not a number"],
    ["+", "rev '+' is not a number"],
    ["0x10", "rev '0x10' is not a number"],
    ["REPLACEME", "rev 'REPLACEME' is not a number"],
    ["replace", "rev 'replace' is not a number"],
    ["1000000000000", "rev '1000000000000' is too large (at most 12 integer digits)"],
  ])("%j is invalid", (raw, reason) => {
    expect(parseRevenue(raw)).toEqual({ kind: "invalid", reason });
  });

  it("shortens a long garbage value in the reason", () => {
    const r = parseRevenue("x".repeat(500));
    expect(r.kind).toBe("invalid");
    if (r.kind === "invalid") expect(r.reason.length).toBeLessThan(100);
  });

  it("never throws and always yields a canonical value", () => {
    fc.assert(
      fc.property(fc.string(), (raw) => {
        const r = parseRevenue(raw);
        if (r.kind === "value") expect(normalizeMoney(r.value)).toBe(r.value);
      }),
    );
  });

  it("round-trips every amount with up to 6 decimals", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 18n) + 1n, max: 10n ** 18n - 1n }), (micros) => {
        const money = microsToMoney(micros);
        expect(moneyToMicros(money)).toBe(micros);
        expect(parseRevenue(money)).toEqual({ kind: "value", value: money });
        expect(parseRevenue(money.replace(".", ","))).toEqual({ kind: "value", value: money });
      }),
    );
  });
});

describe("isUnreplacedMacro", () => {
  it.each([
    "{payout}",
    "{{payout}}",
    "{{ payout }}",
    "[payout]",
    "[[payout]]",
    "%payout%",
    "#payout#",
    "$payout",
    "$payout$",
    DOLLAR_BRACE_MACRO,
    "<payout>",
    "<<payout>>",
    "REPLACE",
    " {clickid} ",
    "{transaction_id}",
    "{offer.payout}",
    "%CLICK_ID%",
    "{aff-sub2}",
    "#s2#",
  ])("%j is an unreplaced macro", (v) => {
    expect(isUnreplacedMacro(v)).toBe(true);
  });

  it.each([
    "",
    "12.5",
    "payout",
    "replace",
    "Replace",
    "{}",
    "{12}",
    "{payout",
    "payout}",
    "{pay out}",
    "a{payout}",
    "{payout}b",
    "$5",
    "#123#",
    "0191d6b4-8a0c-7cc3-9a0e-4f7d2b1c3e5a",
    "pending",
  ])("%j is a real value", (v) => {
    expect(isUnreplacedMacro(v)).toBe(false);
  });
});

describe("money arithmetic", () => {
  it.each([
    ["12.500000", "12.5"],
    ["30", "30"],
    ["-1.000000", "-1"],
    ["0.000000", "0"],
    ["-0", "0"],
    ["+2.50", "2.5"],
  ])("normalizeMoney(%j) = %j", (x, out) => {
    expect(normalizeMoney(x)).toBe(out);
  });

  it.each(["abc", "1,5", "1e2", ""])("normalizeMoney(%j) throws a RangeError", (x) => {
    expect(() => normalizeMoney(x)).toThrow(RangeError);
  });

  it.each([
    ["0.1", "0.2", "0.3"],
    ["12.5", "-12.5", "0"],
    ["0.01", "29.99", "30"],
    ["-1", "0.5", "-0.5"],
    ["999999.999999", "0.000001", "1000000"],
  ])("addMoney(%j, %j) = %j", (a, b, sum) => {
    expect(addMoney(a, b)).toBe(sum);
  });

  it.each([
    ["1", "2", -1],
    ["2", "1", 1],
    ["1.50", "1.5", 0],
    ["-1", "0.01", -1],
  ] as const)("compareMoney(%j, %j) = %j", (a, b, order) => {
    expect(compareMoney(a, b)).toBe(order);
    expect(moneyEquals(a, b)).toBe(order === 0);
  });

  it("adds exactly and commutes, with subtraction as its inverse", () => {
    const amount = fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }).map(microsToMoney);
    fc.assert(
      fc.property(amount, amount, (a, b) => {
        expect(addMoney(a, b)).toBe(addMoney(b, a));
        expect(subtractMoney(addMoney(a, b), b)).toBe(normalizeMoney(a));
      }),
    );
  });

  it("has the seed's placeholder revenues", () => {
    expect(PENDING_REVENUE).toBe("0.01");
    expect(REJECTED_REVENUE).toBe("-1");
    expect(isMoney(PENDING_REVENUE) && isMoney(REJECTED_REVENUE)).toBe(true);
  });
});
