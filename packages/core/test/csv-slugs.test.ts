import { describe, expect, it } from "vitest";
import { csvCell, csvNumber, reservedSlugReason } from "../src/index.ts";

describe("csvCell neutralises formulas (OWASP CSV injection)", () => {
  it.each([
    ['=HYPERLINK("http://evil.example","x")', `"'=HYPERLINK(""http://evil.example"",""x"")"`],
    ["+1+1", `"'+1+1"`],
    ["-2+3", `"'-2+3"`],
    ["-1.5", `"'-1.5"`],
    ["@SUM(A1)", `"'@SUM(A1)"`],
    ["\tcmd", `"'\tcmd"`],
    ["\rcmd", `"'\rcmd"`],
    ["zone 12", "zone 12"],
    ["a,b", `"a,b"`],
    ['say "hi"', `"say ""hi"""`],
    ["", ""],
    [null, ""],
    [undefined, ""],
    [-1.5, "-1.5"],
    [42, "42"],
    [Number.NaN, ""],
  ])("%j → %s", (input, expected) => {
    expect(csvCell(input)).toBe(expected);
  });
});

describe("csvNumber keeps our own numbers numeric", () => {
  it.each([
    ["-1.5", "-1.5"],
    ["12", "12"],
    [-3, "-3"],
    ["1e-7", "1e-7"],
    ["-1+2", `"'-1+2"`],
    ["=1", `"'=1"`],
    [null, ""],
  ])("%j → %s", (input, expected) => {
    expect(csvNumber(input)).toBe(expected);
  });
});

describe("reserved workspace slugs", () => {
  it.each([
    ["www", "'www' is reserved"],
    ["Admin", "'admin' is reserved"],
    ["api", "'api' is reserved"],
    ["app", "'app' is reserved"],
    ["mail", "'mail' is reserved"],
    ["xn--80ak6aa92e", "punycode names (xn--…) are reserved"],
    ["ab--cd", "names with '--' in the third and fourth places are reserved"],
    ["acme", null],
    ["acme-media", null],
    ["a--b", null],
  ])("%s", (slug, reason) => {
    expect(reservedSlugReason(slug)).toBe(reason);
  });
});
