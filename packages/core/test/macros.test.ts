import { describe, expect, it } from "vitest";
import {
  CLICK_TOKENS,
  editDistance,
  macroNames,
  nearestName,
  PAGE_MACROS,
  TRAFFIC_SOURCE_POSTBACK_MACROS,
  trackingOrigin,
  unknownMacros,
  unknownPostbackParams,
} from "../src/index.ts";

const postback = TRAFFIC_SOURCE_POSTBACK_MACROS.map((m) => m.name);
const page = PAGE_MACROS.map((m) => m.name);

describe("macroNames", () => {
  it.each<[string, string[]]>([
    ["https://x.example/?a={hit}&b={vid}", ["hit", "vid"]],
    ["https://x.example/?a={hit}&b={HIT}", ["hit"]],
    ["https://x.example/{a}/{}?c", ["a", ""]],
    ["https://x.example/?a={{vid}}", ["vid"]],
    [`https://x.example/?a=\${SUBID}`, ["SUBID"]],
    ["https://x.example/?a={a b}", []],
    ["https://x.example/plain", []],
  ])("%s", (template, names) => {
    expect(macroNames(template)).toEqual(names);
  });
});

describe("nearestName", () => {
  it.each<[string, string | null]>([
    ["payot", "payout"],
    ["paytou", "payout"],
    ["PAYOUT", "payout"],
    ["extrenal", "external"],
    ["exteral", "external"],
    ["hti", "hit"],
    ["txx", "tx"],
    ["clickid", null],
    ["zzzzzz", null],
  ])("%s → %s", (name, nearest) => {
    expect(nearestName(name, postback)).toBe(nearest);
  });

  it("counts a swap of neighbours as one edit", () => {
    expect(editDistance("payout", "paoyut")).toBe(1);
    expect(editDistance("payout", "pyaotu")).toBe(2);
    expect(editDistance("hit", "iht")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
  });
});

describe("unknownMacros", () => {
  it.each<[string, string, readonly string[], Array<[string, string | null]>]>([
    ["a typo in a postback", "https://n.example/pb?c={external}&p={payot}", postback, [["payot", "payout"]]],
    ["names are case-insensitive", "https://n.example/pb?c={EXTERNAL}&p={Payout}", postback, []],
    [
      "every known postback macro",
      `https://n.example/?${postback.map((n) => `${n}={${n}}`).join("&")}`,
      postback,
      [],
    ],
    ["every known page macro", `https://o.example/?${page.map((n) => `${n}={${n}}`).join("&")}`, page, []],
    ["a postback macro is not a page macro", "https://o.example/?p={payout}", page, [["payout", null]]],
    ["a network's own macro", `https://n.example/pb?c=\${SUBID}`, postback, [["SUBID", null]]],
    ["an empty pair of braces", "https://o.example/?a={}", page, [["", null]]],
    ["reported once", "https://o.example/?a={hti}&b={hti}", page, [["hti", "hit"]]],
    ["a tracking field given as known", "https://o.example/?z={zoneid}", [...page, "zoneid"], []],
  ])("%s", (_name, template, known, expected) => {
    expect(unknownMacros(template, known).map((p) => [p.name, p.suggestion])).toEqual(expected);
  });

  it("says what was meant, or lists what is known", () => {
    expect(unknownMacros("https://n.example/?p={payot}", postback)[0]?.message).toBe(
      "{payot} is not a known macro: did you mean {payout}?",
    );
    expect(unknownMacros("https://o.example/?p={nothing}", ["hit", "vid"])[0]?.message).toBe(
      "{nothing} is not a known macro; known macros: {hit}, {vid}",
    );
  });

  it("knows every token the tracker fills in page URLs", () => {
    expect(page).toEqual([...CLICK_TOKENS]);
  });
});

describe("unknownPostbackParams", () => {
  it.each<[string, string[], Array<[string, string | null]>]>([
    ["https://DOMAIN/pb/?hit=#S2#&tx=#LEADID#&rev=#RATE#", [], []],
    ["https://DOMAIN/pb/?hit={sub1}&tx={transactionid}&rev={sum}&status={status}", [], []],
    ["https://DOMAIN/pb/?htt={sub1}&rev={sum}", [], [["htt", "hit"]]],
    ["https://DOMAIN/pb/?HIT={sub1}", [], [["HIT", "hit"]]],
    ["https://DOMAIN/pb/?hit={sub1}&state={state}", ["state"], []],
    ["https://DOMAIN/pb/?hit={sub1}&offer={offer_id}", [], [["offer", null]]],
    ["https://DOMAIN/pb/", [], []],
  ])("%s", (template, extra, expected) => {
    expect(unknownPostbackParams(template, extra).map((p) => [p.name, p.suggestion])).toEqual(expected);
  });
});

describe("trackingOrigin", () => {
  it.each<[Parameters<typeof trackingOrigin>[0], string, string]>([
    [{ scheme: "http", port: 8080 }, "acme.localhost", "http://acme.localhost:8080"],
    [{ scheme: "http", port: null }, "acme.localhost", "http://acme.localhost"],
    [{ scheme: "http", port: 80 }, "acme.localhost", "http://acme.localhost"],
    [{ scheme: "https", port: 443 }, "Track.Example.com", "https://track.example.com"],
    [{ scheme: "https", port: 8443 }, "track.example.com", "https://track.example.com:8443"],
    [{ scheme: "https", port: 80 }, "track.example.com", "https://track.example.com:80"],
  ])("%j %s", (base, host, origin) => {
    expect(trackingOrigin(base, host)).toBe(origin);
  });
});
