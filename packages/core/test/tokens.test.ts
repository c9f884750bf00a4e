import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { appendQueryParams, encodeComponent, substituteTokens } from "../src/index.ts";

describe("substituteTokens", () => {
  const values = {
    hit: "0191d6b4-8a0c-7cc3-9a0e-4f7d2b1c3e5a",
    vid: "v1",
    external: "abc 123&x=y",
    payout: "12.5",
    tx: null,
    cost: undefined,
    "sub.id": "s",
    "data-1": "d",
  };

  it.each<[string, string, string, string[]]>([
    [
      "offer URL with hit",
      "https://network.example/c?o=1&clickid={hit}",
      "https://network.example/c?o=1&clickid=0191d6b4-8a0c-7cc3-9a0e-4f7d2b1c3e5a",
      [],
    ],
    [
      "traffic source postback, values encoded",
      "https://ads.example/pb?cid={external}&payout={payout}",
      "https://ads.example/pb?cid=abc%20123%26x%3Dy&payout=12.5",
      [],
    ],
    ["names are case-insensitive", "x?a={HIT}&b={Vid}", "x?a=0191d6b4-8a0c-7cc3-9a0e-4f7d2b1c3e5a&b=v1", []],
    ["null and missing values become empty", "x?tx={tx}&c={cost}", "x?tx=&c=", []],
    ["dots and dashes in names", "x?a={sub.id}&b={data-1}", "x?a=s&b=d", []],
    [
      "unknown tokens stay and are listed once",
      "x?a={nope}&b={Nope}&c={other}",
      "x?a={nope}&b={Nope}&c={other}",
      ["nope", "other"],
    ],
    ["the same token twice", "{vid}/{vid}", "v1/v1", []],
    ["not tokens", "x?a={}&b={a b}&c={vid", "x?a={}&b={a b}&c={vid", []],
    ["double braces keep the outer pair", "x?a={{vid}}", "x?a={v1}", []],
    ["no tokens", "https://plain.example/", "https://plain.example/", []],
  ])("%s", (_name, template, url, unknown) => {
    expect(substituteTokens(template, values)).toEqual({ url, unknown });
  });

  it.each<[string, Record<string, string | null>, string]>([
    ["the exactly lowercase name wins over a differently cased one before it", { Zone: "A", zone: "b" }, "b"],
    ["the exactly lowercase name wins over a differently cased one after it", { zone: "b", ZONE: "C" }, "b"],
    ["else the first differently cased name", { ZoNe: "1", ZONE: "2" }, "1"],
    ["an inherited name is no value", Object.create({ zone: "x" }), "{Zone}"],
  ])("%s", (_name, named, url) => {
    expect(substituteTokens("{Zone}", named, { encode: false }).url).toBe(url);
  });

  it("leaves values raw when asked", () => {
    expect(substituteTokens("{external}", values, { encode: false }).url).toBe("abc 123&x=y");
  });

  it("does not substitute inside substituted values", () => {
    expect(substituteTokens("{a}", { a: "{b}", b: "no" }, { encode: false }).url).toBe("{b}");
  });

  it("never throws, even on lone surrogates", () => {
    expect(substituteTokens("{a}", { a: "x\uD800y" }).url).toBe("x%EF%BF%BDy");
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), (template, value) => {
        const { url } = substituteTokens(template, { a: value, hit: value });
        expect(typeof url).toBe("string");
      }),
    );
  });

  it("encodes so that decoding gives the value back", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (value) => {
        expect(decodeURIComponent(encodeComponent(value))).toBe(value);
      }),
    );
  });
});

describe("appendQueryParams", () => {
  it.each<[string, string, Record<string, string>, boolean, string]>([
    ["no query", "https://a.example/p", { vid: "v1" }, false, "https://a.example/p?vid=v1"],
    ["existing query", "https://a.example/p?x=1", { vid: "v1" }, false, "https://a.example/p?x=1&vid=v1"],
    ["empty query", "https://a.example/p?", { vid: "v1" }, false, "https://a.example/p?vid=v1"],
    ["trailing &", "https://a.example/p?x=1&", { vid: "v1" }, false, "https://a.example/p?x=1&vid=v1"],
    [
      "fragment kept",
      "https://a.example/p?x=1#top",
      { vid: "v1" },
      false,
      "https://a.example/p?x=1&vid=v1#top",
    ],
    ["fragment, no query", "https://a.example/p#a?b", { vid: "v1" }, false, "https://a.example/p?vid=v1#a?b"],
    [
      "existing param wins",
      "https://a.example/p?vid=mine",
      { vid: "v1" },
      false,
      "https://a.example/p?vid=mine",
    ],
    [
      "overwrite",
      "https://a.example/p?vid=mine&x=1&vid=again",
      { vid: "v1" },
      true,
      "https://a.example/p?x=1&vid=v1",
    ],
    ["values are encoded", "https://a.example/p", { q: "a b&c" }, false, "https://a.example/p?q=a%20b%26c"],
    [
      "encoded existing names are recognised",
      "https://a.example/p?v%69d=1",
      { vid: "2" },
      false,
      "https://a.example/p?v%69d=1",
    ],
    [
      "templates keep their tokens",
      "https://n.example/c?id={hit}",
      { vid: "v1" },
      false,
      "https://n.example/c?id={hit}&vid=v1",
    ],
    ["not a URL at all", "not a url", { vid: "v1" }, false, "not a url?vid=v1"],
    ["relative", "/next", { a: "1", b: "2" }, false, "/next?a=1&b=2"],
    ["nothing to add", "https://a.example/p?x=%zz", {}, false, "https://a.example/p?x=%zz"],
    [
      "broken escapes in the existing query",
      "https://a.example/p?%zz=1",
      { vid: "v1" },
      false,
      "https://a.example/p?%zz=1&vid=v1",
    ],
  ])("%s", (_name, url, params, overwrite, expected) => {
    expect(appendQueryParams(url, params, { overwrite })).toBe(expected);
  });

  it("the added parameters read back through URLSearchParams", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
        const url = new URL(appendQueryParams("https://a.example/p?x=1#f", { a, b }));
        expect(url.searchParams.get("a")).toBe(a);
        expect(url.searchParams.get("b")).toBe(b);
        expect(url.searchParams.get("x")).toBe("1");
        expect(url.hash).toBe("#f");
      }),
    );
  });
});
