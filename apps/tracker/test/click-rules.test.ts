import { describe, expect, it } from "vitest";
import { readVisitorCookie, visitorCookie } from "../src/click/cookie.ts";
import { destinationUrl, safeLocation } from "../src/click/destination.ts";
import { queryRecord, readEntryParams, type TrafficSourceParams } from "../src/click/entry-params.ts";
import { refererIds } from "../src/click/origin.ts";
import { preferredLanguage, readVisit } from "../src/visit-context.ts";

const VID = "01a2102a-c372-7a62-a11b-bcc94019fb41";
const HIT = "01a2102a-c372-7a62-a11b-bcca08f7ed22";

const ts: TrafficSourceParams = {
  id: "ts-1",
  externalParam: "clickid",
  campaignParam: "cmp",
  costParam: "cpc",
  trackingFields: Array.from({ length: 25 }, (_, i) => ({ name: `f${i}`, param: `p${i}` })),
};

describe("entry parameters", () => {
  it("reads the source's own parameter names, at most 20 tracking fields", () => {
    const query = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`p${i}`, `v${i}`]));
    const { entry, notes } = readEntryParams(ts, {
      ...query,
      clickid: " abc ",
      cmp: "summer",
      cpc: "0,25",
      external: "no",
    });
    expect(entry).toMatchObject({
      trafficSourceId: "ts-1",
      externalId: "abc",
      campaign: "summer",
      cost: "0.25",
    });
    expect(Object.keys(entry.fields)).toHaveLength(20);
    expect(entry.fields.f19).toBe("v19");
    expect(notes).toEqual([]);
  });

  it.each([
    ["{cost}", null, false],
    ["", null, false],
    ["-1", null, true],
    ["1e3", null, true],
    ["0.0012345678", "0.001235", false],
  ])("cost %j → %j", (raw, cost, noted) => {
    const { entry, notes } = readEntryParams(ts, { cpc: raw });
    expect(entry.cost).toBe(cost);
    expect(notes.length > 0).toBe(noted);
  });

  it("treats unreplaced macros as nothing sent and strips control characters", () => {
    const { entry } = readEntryParams(ts, { clickid: "[clickid]", cmp: "a\u0000b", p0: "%p0%" });
    expect(entry).toMatchObject({ externalId: null, campaign: "ab", fields: {} });
  });

  it("without a traffic source there is no entry data", () => {
    expect(readEntryParams(null, { clickid: "x" }).entry).toEqual({
      trafficSourceId: null,
      externalId: null,
      campaign: null,
      cost: null,
      fields: {},
    });
  });

  it("keeps the first of repeated query names and nothing inherited", () => {
    const q = queryRecord({ a: ["1", "2"], b: "x", c: 5 });
    expect({ ...q }).toEqual({ a: "1", b: "x" });
    expect(Object.getPrototypeOf(q)).toBeNull();
  });
});

describe("destination", () => {
  const base = {
    hitId: HIT,
    visitorId: VID,
    funnelId: "f",
    nodeId: "n",
    pageId: "p",
    entry: { trafficSourceId: "t", externalId: null, campaign: null, cost: null, fields: { hit: "spoofed" } },
    fieldNames: ["zone"],
    visit: { country: null, device: "mobile", os: "iOS", browser: null },
  };

  it("a tracking field never shadows our tokens; a defined but empty field becomes empty", () => {
    const { url, unknownTokens } = destinationUrl({
      ...base,
      pageKind: "offer",
      template: "https://o.example/?h={hit}&z={zone}&c={country}&x={nope}",
    });
    expect(url).toBe(`https://o.example/?h=${HIT}&z=&c=&x={nope}`);
    expect(unknownTokens).toEqual(["nope"]);
  });

  it("appends the visitor ID under the given name (before the fragment), never when already passed", () => {
    const vid = { visitorIdParam: "vid" };
    expect(
      destinationUrl({ ...base, ...vid, pageKind: "lander", template: "https://l.example/a#b" }).url,
    ).toBe(`https://l.example/a?vid=${VID}#b`);
    expect(
      destinationUrl({ ...base, ...vid, pageKind: "lander", template: "https://l.example/?vid=1" }).url,
    ).toBe("https://l.example/?vid=1");
    expect(destinationUrl({ ...base, ...vid, pageKind: "offer", template: "https://o.example/" }).url).toBe(
      `https://o.example/?vid=${VID}`,
    );
    // Another name: its own "already passed" check, and the template's own vid is left alone.
    expect(
      destinationUrl({
        ...base,
        visitorIdParam: "fvid",
        pageKind: "offer",
        template: "https://o.example/?vid=x",
      }).url,
    ).toBe(`https://o.example/?vid=x&fvid=${VID}`);
    expect(
      destinationUrl({
        ...base,
        visitorIdParam: "fvid",
        pageKind: "offer",
        template: "https://o.example/?fvid={vid}",
      }).url,
    ).toBe(`https://o.example/?fvid=${VID}`);
    expect(
      destinationUrl({ ...base, visitorIdParam: null, pageKind: "offer", template: "https://o.example/" })
        .url,
    ).toBe("https://o.example/");
  });

  it("percent-encodes what a header cannot carry", () => {
    expect(safeLocation(" https://x.example/é ü?q=日本\t")).toBe(
      "https://x.example/%C3%A9%20%C3%BC?q=%E6%97%A5%E6%9C%AC",
    );
    expect(safeLocation("https://x.example/?a=%20")).toBe("https://x.example/?a=%20");
  });
});

describe("visitor cookie", () => {
  it.each([
    [`hrvid=${VID}`, VID],
    [`a=1; hrvid=${VID}; b=2`, VID],
    [`xhrvid=nope; hrvid=${VID}`, VID],
    ["hrvid=../../etc", null],
    ["a=hrvid=1", null],
    [undefined, null],
  ])("%s → %s", (header, vid) => {
    expect(readVisitorCookie(header)).toBe(vid);
  });

  it("is Lax over http and cross-site (None; Secure) over https", () => {
    expect(visitorCookie(VID, 60, "http")).toBe(`hrvid=${VID}; Path=/; Max-Age=60; HttpOnly; SameSite=Lax`);
    expect(visitorCookie(VID, 60, "https")).toBe(
      `hrvid=${VID}; Path=/; Max-Age=60; HttpOnly; SameSite=None; Secure`,
    );
  });
});

describe("visit context", () => {
  it.each([
    ["en-US,en;q=0.9", "en-us"],
    ["fr;q=0.5, de-AT", "de-at"],
    ["*, es;q=0.1", "es"],
    ["pt_BR", "pt-br"],
    ["", null],
    ["!!", null],
  ])("Accept-Language %j → %j", (header, tag) => {
    expect(preferredLanguage(header)).toBe(tag);
  });

  it("reads device, OS, browser, country and the primary language", () => {
    const v = readVisit({
      ip: "81.2.69.142",
      userAgent:
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
      acceptLanguage: "en-GB",
      referer: undefined,
    });
    expect(v).toMatchObject({
      device: "mobile",
      os: "iOS",
      browser: "Mobile Safari",
      country: "GB",
      language: "en",
      languageTag: "en-gb",
      isBot: false,
    });
  });

  it("counts a visit without a user agent as a bot; private addresses have no country", () => {
    expect(
      readVisit({ ip: "10.0.0.1", userAgent: undefined, acceptLanguage: undefined, referer: undefined }),
    ).toMatchObject({
      isBot: true,
      country: null,
      userAgent: null,
    });
  });

  it("reads hit and vid from a Referer", () => {
    expect(refererIds(`https://l.example/?hit=${HIT}&vid=${VID.replace(/-/g, "")}`)).toEqual({
      hit: HIT,
      vid: VID,
    });
    expect(refererIds("not a url?hit=1")).toEqual({ hit: null, vid: null });
    expect(refererIds(null)).toEqual({ hit: null, vid: null });
  });
});
