import { describe, expect, it } from "vitest";
import {
  conversionRevenueProblem,
  DEFAULT_TAG_SETTINGS,
  decideConversion,
  decideTagOrigin,
  hostAllowed,
  MAX_CONVERSION_REVENUE,
  normalizeAllowedOrigin,
  originHost,
  parseConversionRevenue,
  parsePostback,
  type TagOriginInput,
  tagLimitProblem,
  templateHost,
  urlTemplateProblem,
} from "../src/index.ts";

const HIT = "0190d6a4-7a3b-7c1e-9f00-000000000001";

describe("money bounds: one conversion is worth 0 to MAX_CONVERSION_REVENUE, or -1 (delete)", () => {
  it.each<[string, string | null]>([
    ["0", null],
    ["12.5", null],
    [MAX_CONVERSION_REVENUE, null],
    ["1000000.000001", "above the maximum of 1000000 per conversion"],
    ["999999999999", "above the maximum of 1000000 per conversion"],
    ["-1", null],
    ["-1.000000", null],
    ["-0.5", "negative; the only negative value accepted is -1"],
    ["-5", "negative; the only negative value accepted is -1"],
    ["-999999999999", "negative; the only negative value accepted is -1"],
    ["abc", "is not a number"],
  ])("%s", (value, problem) => {
    const got = conversionRevenueProblem(value);
    if (problem === null) expect(got).toBeNull();
    else expect(got).toContain(problem);
  });

  it.each<[string, string]>([
    ["999999999999", "invalid"],
    ["1000000", "value"],
    ["-2", "invalid"],
    ["-1", "value"],
    ["{payout}", "absent"],
  ])("parseConversionRevenue(%s) is %s", (raw, kind) => {
    expect(parseConversionRevenue(raw).kind).toBe(kind);
  });

  it("a postback beyond the maximum is a bad request naming the maximum", () => {
    const parsed = parsePostback({ hit: HIT, rev: "999999999999" });
    expect(parsed).toMatchObject({ ok: false, field: "rev" });
    expect(parsed.ok ? "" : parsed.reason).toContain("maximum of 1000000");
  });

  it("rev=-1 is the seed's delete marker: it deletes like a rejected status", () => {
    const existing = { id: "c", revenue: "40", status: "approved" as const, deleted: false, revision: 1 };
    expect(
      decideConversion({
        existing,
        status: "approved",
        revenue: { kind: "value", value: "-1" },
        defaultPayout: "10",
      }),
    ).toEqual({ action: "delete", previousRevenue: "40" });
    expect(
      decideConversion({
        existing: null,
        status: "approved",
        revenue: { kind: "value", value: "-1" },
        defaultPayout: "10",
      }),
    ).toEqual({ action: "ignore", reason: "rejected: no conversion to delete" });
  });
});

describe("URL templates: no {token} in the scheme or the host", () => {
  it.each<[string, string | null]>([
    ["https://example.com/land?id={external}", null],
    ["https://example.com/{campaign}/land#{hit}", null],
    ["http://example.com:8080/x?{hit}", null],
    ["https://{external}/land", "may not be in the host"],
    ["https://land.{external}.com/", "may not be in the host"],
    ["https://example.com{path}", "may not be in the host"],
    ["https://user:{pw}@example.com/", "may not be in the host"],
    ["https://example.com:{port}/", "may not be in the host"],
    ["https://{a}@evil.example/", "may not be in the host"],
    ["{scheme}://example.com/", "may not stand for the scheme"],
    ["javascript:alert(1)", "must start with http:// or https://"],
    ["https:{x}//example.com", "must start with http:// or https://"],
    ["https:///path", "has no host"],
    ["https://example.com\\{x}", null],
  ])("%s", (template, problem) => {
    const got = urlTemplateProblem(template);
    if (problem === null) expect(got).toBeNull();
    else expect(got).toContain(problem);
  });
});

describe("tag origins", () => {
  it.each<[string | null, string | null]>([
    ["https://shop.example", "shop.example"],
    ["http://Shop.Example:8080", "shop.example"],
    ["null", null],
    ["file://", null],
    ["https://a@b.example", null],
    [null, null],
  ])("originHost(%s) = %s", (origin, host) => expect(originHost(origin)).toBe(host));

  it.each<[string, string | null]>([
    ["shop.example", "shop.example"],
    ["https://Shop.Example/", "shop.example"],
    ["*.example.com", "*.example.com"],
    ["*.com", null],
    ["not a host", null],
  ])("normalizeAllowedOrigin(%s) = %s", (entry, out) => expect(normalizeAllowedOrigin(entry)).toBe(out));

  it.each<[string, string | null]>([
    ["https://Land.Example/a?b={hit}", "land.example"],
    ["https://land.example:8443/x", "land.example"],
    ["https://{external}/x", null],
  ])("templateHost(%s) = %s", (t, host) => expect(templateHost(t)).toBe(host));

  it("*.example.com allows subdomains, not the look-alike", () => {
    expect(hostAllowed("a.example.com", ["*.example.com"])).toBe(true);
    expect(hostAllowed("evilexample.com", ["*.example.com"])).toBe(false);
  });

  const base: TagOriginInput = {
    settings: DEFAULT_TAG_SETTINGS,
    hasPostbackSecret: false,
    origin: "https://land.example",
    allowedHosts: ["land.example"],
    revenueSent: true,
  };
  it.each<[string, Partial<TagOriginInput>, string]>([
    ["an allowed origin", {}, "ok:browser"],
    ["another site", { origin: "https://evil.example" }, "403:is not a lander"],
    ["an opaque origin", { origin: "null" }, "403:is not a lander"],
    ["tag conversions off", { settings: { ...DEFAULT_TAG_SETTINGS, enabled: false } }, "403:turned off"],
    ["no Origin, no secret (a script, like a postback without key)", { origin: null }, "ok:browser"],
    ["no Origin with a postback secret", { origin: null, hasPostbackSecret: true }, "403:without an Origin"],
    ["an allowed origin with a postback secret", { hasPostbackSecret: true }, "ok:browser"],
    [
      "revenue from the browser off",
      { settings: { ...DEFAULT_TAG_SETTINGS, revenueFromBrowser: false } },
      "ok:default",
    ],
  ])("%s", (_name, over, expected) => {
    const d = decideTagOrigin({ ...base, ...over });
    const got = d.ok ? `ok:${d.useBrowserRevenue ? "browser" : "default"}` : `${d.httpStatus}:${d.reason}`;
    const [head, ...rest] = expected.split(":");
    expect(got.startsWith(`${head}:`)).toBe(true);
    expect(got).toContain(rest.join(":"));
  });

  it.each<[number, boolean, number, boolean]>([
    [0, false, 1, true],
    [1, false, 1, false],
    [1, true, 1, true],
    [9, false, 10, true],
    [10, false, 10, false],
  ])("limit: %i on the hit, identity exists %s, limit %i → allowed %s", (n, exists, limit, allowed) => {
    expect(tagLimitProblem({ conversionsOnHit: n, identityExists: exists, limit }) === null).toBe(allowed);
  });
});
