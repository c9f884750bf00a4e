import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type PostbackRequest, parsePostback } from "../src/index.ts";

const HIT = "0191d6b4-8a0c-7cc3-9a0e-4f7d2b1c3e5a";
const VID = "0191d6b4-9b1d-7dd4-8b1f-5a8e3c2d4f6b";
const PAGE = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b";

function request(params: Record<string, string | undefined>): PostbackRequest {
  const parsed = parsePostback(params);
  if (!parsed.ok) throw new Error(`expected ok, got ${parsed.reason}`);
  return parsed.request;
}

const base: PostbackRequest = {
  target: { by: "hit", hitId: HIT },
  tx: null,
  revenue: { kind: "absent" },
  statusWord: null,
  rawStatus: null,
  disablePostbacks: false,
  eventAlias: null,
  conversionTime: null,
  key: null,
  notes: [],
};

describe("parsePostback: which hit", () => {
  it.each<[string, Record<string, string | undefined>, Partial<PostbackRequest>]>([
    ["hit alone", { hit: HIT }, {}],
    ["hit is lowercased", { hit: HIT.toUpperCase() }, {}],
    ["hit without dashes", { hit: HIT.replace(/-/g, "") }, {}],
    ["hit with spaces around", { hit: ` ${HIT} ` }, {}],
    [
      "hit and vid: hit wins",
      { hit: HIT, vid: VID, p: PAGE },
      { notes: ["hit and vid both given: hit wins"] },
    ],
    ["hit with p: p ignored", { hit: HIT, p: PAGE }, { notes: ["p ignored: hit given"] }],
    [
      "hit with a garbage p: p is not looked at",
      { hit: HIT, p: "nope" },
      { notes: ["p ignored: hit given"] },
    ],
    [
      "vid + p: that page",
      { vid: VID, p: PAGE },
      { target: { by: "visitor", visitorId: VID, pageId: PAGE } },
    ],
    ["vid alone: last offer", { vid: VID }, { target: { by: "visitor", visitorId: VID, pageId: null } }],
    ["vid + empty p", { vid: VID, p: "" }, { target: { by: "visitor", visitorId: VID, pageId: null } }],
    [
      "vid + macro p",
      { vid: VID, p: "{page}" },
      {
        target: { by: "visitor", visitorId: VID, pageId: null },
        notes: ["unreplaced macro in p: '{page}'; using the visitor's last offer"],
      },
    ],
    [
      "macro hit, vid given",
      { hit: "{clickid}", vid: VID },
      {
        target: { by: "visitor", visitorId: VID, pageId: null },
        notes: ["unreplaced macro in hit: '{clickid}'"],
      },
    ],
    [
      "empty hit, vid given",
      { hit: "", vid: VID },
      { target: { by: "visitor", visitorId: VID, pageId: null } },
    ],
    ["empty vid, hit given", { hit: HIT, vid: "" }, {}],
    ["macro vid, hit given", { hit: HIT, vid: "[vid]" }, {}],
  ])("%s", (_name, params, expected) => {
    expect(request(params)).toEqual({ ...base, ...expected });
  });
});

describe("parsePostback: fields", () => {
  it.each<[string, Record<string, string | undefined>, Partial<PostbackRequest>]>([
    ["tx", { hit: HIT, tx: "T-1" }, { tx: "T-1" }],
    ["tx trimmed", { hit: HIT, tx: "  T-1  " }, { tx: "T-1" }],
    ["tx empty", { hit: HIT, tx: "" }, { tx: null }],
    [
      "tx macro",
      { hit: HIT, tx: "{{transaction}}" },
      { notes: ["unreplaced macro in tx: '{{transaction}}'"] },
    ],
    ["tx REPLACE", { hit: HIT, tx: "REPLACE" }, { notes: ["unreplaced macro in tx: 'REPLACE'"] }],
    ["tx of 255 characters", { hit: HIT, tx: "x".repeat(255) }, { tx: "x".repeat(255) }],
    ["rev", { hit: HIT, rev: "12.50" }, { revenue: { kind: "value", value: "12.5" } }],
    ["rev comma", { hit: HIT, rev: "12,50" }, { revenue: { kind: "value", value: "12.5" } }],
    // What -1 does (and the note saying so) is applyConversion's: test/conversion/apply.test.ts.
    ["rev -1 (delete marker)", { hit: HIT, rev: "-1" }, { revenue: { kind: "value", value: "-1" } }],
    ["rev empty", { hit: HIT, rev: "" }, {}],
    ["rev macro", { hit: HIT, rev: "{payout}" }, { notes: ["unreplaced macro in rev: '{payout}'"] }],
    ["rev #macro#", { hit: HIT, rev: "#payout#" }, { notes: ["unreplaced macro in rev: '#payout#'"] }],
    // The word is classified once the hit and its offer source's map are known (applyConversion).
    ["status pending", { hit: HIT, status: "Pending" }, { statusWord: "pending", rawStatus: "Pending" }],
    ["status hold", { hit: HIT, status: "hold" }, { statusWord: "hold", rawStatus: "hold" }],
    ["status trash", { hit: HIT, status: "trash" }, { statusWord: "trash", rawStatus: "trash" }],
    ["status other", { hit: HIT, status: "sale" }, { statusWord: "sale", rawStatus: "sale" }],
    ["status macro", { hit: HIT, status: "{status}" }, { notes: ["unreplaced macro in status: '{status}'"] }],
    ["disable_postbacks=true", { hit: HIT, disable_postbacks: "true" }, { disablePostbacks: true }],
    ["disable_postbacks=TRUE", { hit: HIT, disable_postbacks: "TRUE" }, { disablePostbacks: true }],
    ["disable_postbacks=1", { hit: HIT, disable_postbacks: "1" }, { disablePostbacks: true }],
    ["disable_postbacks=yes", { hit: HIT, disable_postbacks: "yes" }, { disablePostbacks: true }],
    ["disable_postbacks=on", { hit: HIT, disable_postbacks: " On " }, { disablePostbacks: true }],
    ["disable_postbacks=false", { hit: HIT, disable_postbacks: "false" }, { disablePostbacks: false }],
    ["disable_postbacks=0", { hit: HIT, disable_postbacks: "0" }, { disablePostbacks: false }],
    ["disable_postbacks empty", { hit: HIT, disable_postbacks: "" }, { disablePostbacks: false }],
    ["disable_postbacks macro", { hit: HIT, disable_postbacks: "{dp}" }, { disablePostbacks: false }],
    ["event alias", { hit: HIT, e: "lead" }, { eventAlias: "lead" }],
    ["event alias macro", { hit: HIT, e: "{event}" }, { notes: ["unreplaced macro in e: '{event}'"] }],
    ["key", { hit: HIT, key: "s3cret" }, { key: "s3cret" }],
    ["unknown parameters are ignored", { hit: HIT, sub1: "x", payout: "3" }, {}],
    ["undefined values are absent", { hit: HIT, tx: undefined, rev: undefined }, {}],
  ])("%s", (_name, params, expected) => {
    expect(request(params)).toEqual({ ...base, ...expected });
  });
});

describe("parsePostback: bad requests", () => {
  it.each<[string, Record<string, string | undefined>, string, string]>([
    ["nothing", {}, "hit or vid is required", "hit"],
    ["empty hit", { hit: "" }, "hit or vid is required", "hit"],
    ["only p", { p: PAGE }, "hit or vid is required", "hit"],
    ["only tx and rev", { tx: "1", rev: "2" }, "hit or vid is required", "hit"],
    [
      "macro hit",
      { hit: "{clickid}" },
      "hit or vid is required (hit was the unreplaced macro '{clickid}')",
      "hit",
    ],
    [
      "the documented REPLACE template, unedited",
      { hit: "REPLACE", tx: "REPLACE", rev: "REPLACE" },
      "hit or vid is required (hit was the unreplaced macro 'REPLACE')",
      "hit",
    ],
    [
      "macro vid",
      { vid: "{vid}", p: PAGE },
      "hit or vid is required (vid was the unreplaced macro '{vid}')",
      "hit",
    ],
    ["malformed hit", { hit: "xyz" }, "hit 'xyz' is not a valid hit ID", "hit"],
    ["malformed hit with vid", { hit: "xyz", vid: VID }, "hit 'xyz' is not a valid hit ID", "hit"],
    ["hit with braces", { hit: `{${HIT}}` }, `hit '{${HIT}}' is not a valid hit ID`, "hit"],
    ["hit too short", { hit: HIT.slice(0, -1) }, `hit '${HIT.slice(0, -1)}' is not a valid hit ID`, "hit"],
    ["malformed vid", { vid: "123" }, "vid '123' is not a valid visitor ID", "vid"],
    ["malformed p", { vid: VID, p: "home" }, "p 'home' is not a valid page ID", "p"],
    ["tx too long", { hit: HIT, tx: "x".repeat(256) }, "tx is longer than 255 characters", "tx"],
    ["tx with NUL", { hit: HIT, tx: "a\u0000b" }, "tx 'a\u0000b' contains control characters", "tx"],
    ["rev garbage", { hit: HIT, rev: "abc" }, "rev 'abc' is not a number", "rev"],
    [
      "rev with thousands",
      { hit: HIT, rev: "1,234.50" },
      "rev '1,234.50' is not a number (thousands separators are not accepted)",
      "rev",
    ],
    [
      "rev exponent",
      { hit: HIT, rev: "1e2" },
      "rev '1e2' is not a number (exponents are not accepted)",
      "rev",
    ],
    [
      "status too long",
      { hit: HIT, status: "s".repeat(65) },
      "status is longer than 64 characters",
      "status",
    ],
    ["e too long", { hit: HIT, e: "e".repeat(129) }, "e is longer than 128 characters", "e"],
    ["key with newline", { hit: HIT, key: "a\nb" }, "key 'a\nb' contains control characters", "key"],
  ])("%s", (_name, params, reason, field) => {
    expect(parsePostback(params)).toEqual({ ok: false, code: "bad_request", reason, field });
  });

  it("shortens a huge malformed ID in the reason", () => {
    const parsed = parsePostback({ hit: "h".repeat(10_000) });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason.length).toBeLessThan(120);
  });
});

describe("parsePostback never throws", () => {
  const names = fc.constantFrom(
    "hit",
    "vid",
    "p",
    "tx",
    "rev",
    "status",
    "disable_postbacks",
    "e",
    "key",
    "x",
  );
  const values = fc.oneof(
    fc.string(),
    fc.string({ unit: "grapheme" }),
    fc.string({ unit: "binary" }),
    fc.constantFrom(HIT, VID, PAGE, "{payout}", "REPLACE", "", " ", "1e2", "-1", "pending", "__proto__"),
    fc.constant(undefined),
  );

  it("on arbitrary string records", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.option(fc.string(), { nil: undefined })), (params) => {
        const parsed = parsePostback(params);
        expect(typeof parsed.ok).toBe("boolean");
      }),
      { numRuns: 2000 },
    );
  });

  it("on records of the real parameter names, and answers consistently", () => {
    fc.assert(
      fc.property(fc.dictionary(names, values), (params) => {
        const parsed = parsePostback(params);
        if (parsed.ok) {
          const { target, tx } = parsed.request;
          expect(target.by === "hit" ? target.hitId : target.visitorId).toMatch(/^[0-9a-f-]{36}$/);
          if (tx !== null) expect(tx.length).toBeLessThanOrEqual(255);
        } else {
          expect(parsed.reason.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("on prototype-looking keys", () => {
    const params = JSON.parse('{"__proto__": {"hit": "x"}, "constructor": "y"}') as Record<string, string>;
    expect(parsePostback(params)).toMatchObject({ ok: false, reason: "hit or vid is required" });
    expect(parsePostback(Object.create({ hit: HIT }) as Record<string, string>)).toMatchObject({ ok: false });
  });

  it("on values that are not strings at runtime", () => {
    const params = { hit: 42, vid: null, tx: {}, rev: [] } as unknown as Record<string, string>;
    expect(parsePostback(params)).toMatchObject({ ok: false, reason: "hit or vid is required" });
  });
});

describe("parsePostback: when the conversion happened (ts)", () => {
  it.each<[string, Record<string, string>, number | null, string[]]>([
    ["absent: null (the receive time is used)", { hit: HIT }, null, []],
    ["unix seconds", { hit: HIT, ts: "1779019200" }, 1_779_019_200_000, []],
    ["ISO-8601 with an offset", { hit: HIT, ts: "2026-05-17T14:00:00+02:00" }, Date.UTC(2026, 4, 17, 12), []],
    [
      "an unreplaced macro counts as absent, with a note",
      { hit: HIT, ts: "{conversion_time}" },
      null,
      ["unreplaced macro in ts: '{conversion_time}'; using the time it was received"],
    ],
  ])("%s", (_name, params, at, notes) => {
    const parsed = parsePostback(params);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.request.conversionTime).toBe(at);
    expect(parsed.request.notes.map((n) => n.replace(/"/g, "'"))).toEqual(notes);
  });

  it("anything else is a 400 naming ts", () => {
    expect(parsePostback({ hit: HIT, ts: "last tuesday" })).toMatchObject({ ok: false, field: "ts" });
  });
});
