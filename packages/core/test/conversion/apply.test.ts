import { describe, expect, it } from "vitest";
import {
  type ApplyInput,
  applyConversion,
  type ConversionEvent,
  type ConversionRequest,
  type ConvertingHit,
  conversionEventOf,
  type ExistingConversion,
  REV_MINUS_ONE_NOTE,
  STATUS_MAP_TEMPLATES,
} from "../../src/index.ts";

// applyConversion is every decision of the write path for one request: these tables pin each rule
// in the order it is taken. packages/conversions/test/plan.test.ts pins the rows made of them.

const HIT = "00000000-0000-7000-8000-000000000003";
const NOW = Date.UTC(2026, 0, 15, 12);

const hit = (over: Partial<ConvertingHit> = {}): ConvertingHit => ({
  hitId: HIT,
  visitorId: "v1",
  funnelId: "f1",
  pageId: "offer-1",
  pageKind: "offer",
  trafficSourceId: "ts1",
  externalId: "ext",
  cost: "0.02",
  trackingFields: { zone: "z1" },
  createdAtMs: NOW - 60_000,
  defaultPayout: "12.5",
  duplicatePolicy: null,
  statusMap: null,
  conversionTimeParam: null,
  statusParam: null,
  trafficSourcePostbackUrl: "https://ts.example/?c={external}&p={payout}&s={status}",
  postbackOnUpdate: true,
  postbackOnReject: true,
  postbackDelaySeconds: null,
  ...over,
});

const request = (over: Partial<ConversionRequest> = {}): ConversionRequest => ({
  tx: null,
  revenue: { kind: "absent" },
  rawStatus: null,
  disablePostbacks: false,
  params: {},
  receivedAt: NOW,
  currency: "EUR",
  notes: [],
  ...over,
});

const stored = (over: Partial<ExistingConversion> = {}): ExistingConversion => ({
  id: "c1",
  revenue: "10",
  status: "approved",
  deleted: false,
  revision: 4,
  ...over,
});

const event = (over: Partial<ConversionEvent> = {}): ConversionEvent => ({
  typeId: "ev1",
  alias: "lead",
  defaultRevenue: "2",
  hasRevenue: true,
  firesPostback: true,
  duplicatePolicy: "update",
  ...over,
});

const rev = (value: string) => ({ kind: "value" as const, value });

function apply(
  req: Partial<ConversionRequest> = {},
  on: Partial<ConvertingHit> | null = {},
  existing: ExistingConversion | null = null,
  more: Partial<ApplyInput> = {},
) {
  return applyConversion({
    request: request(req),
    hitId: HIT,
    visitorId: null,
    hit: on === null ? null : hit(on),
    existing,
    ...more,
  });
}

describe("applyConversion: the converting hit", () => {
  it.each<[string, ReturnType<typeof apply>, number, RegExp]>([
    ["an unknown hit", apply({}, null), 404, /^hit not found: /],
    [
      "a hit the visitor's session names but the database has not yet (outage spool)",
      apply({}, null, null, { visitorId: "v9" }),
      503,
      /of visitor v9 is not stored yet; retry shortly$/,
    ],
    ["a traffic entry hit", apply({}, { pageKind: "none" }), 422, /traffic entry, rotator or condition/],
    ["an external URL hit", apply({}, { pageKind: "external" }), 422, /an external URL node/],
  ])("%s is refused with %i", (_name, result, httpStatus, error) => {
    expect(result).toMatchObject({ kind: "refuse", httpStatus, error: expect.stringMatching(error) });
  });

  it.each(["offer", "lander"] as const)("a %s hit converts", (pageKind) => {
    expect(apply({}, { pageKind })).toMatchObject({ kind: "change", outcome: "created" });
  });
});

describe("applyConversion: the status is classified once, with the offer source's map", () => {
  const clickbank = STATUS_MAP_TEMPLATES.clickbank.map.words;
  it.each<[string, Partial<ConversionRequest>, Partial<ConvertingHit>, object]>([
    ["no word: approved", {}, {}, { conversion: { status: "approved", revenue: "12.5" } }],
    [
      "Pending (any case): pending at 0.01",
      { rawStatus: "Pending" },
      {},
      { conversion: { status: "pending", revenue: "0.01" } },
    ],
    ["hold: pending", { rawStatus: "hold" }, {}, { conversion: { status: "pending" } }],
    ["preapproved: pending", { rawStatus: "preapproved" }, {}, { conversion: { status: "pending" } }],
    [
      "any other word: a normal conversion",
      { rawStatus: "sale" },
      {},
      { conversion: { status: "approved" } },
    ],
    ["trash with nothing stored: ignored", { rawStatus: "trash" }, {}, { kind: "ignore" }],
    [
      "a map's word: SALE",
      { rawStatus: "SALE" },
      { statusMap: clickbank },
      { conversion: { status: "approved" } },
    ],
    [
      "the seed's words still hold under a map",
      { rawStatus: "hold" },
      { statusMap: clickbank },
      { conversion: { status: "pending" } },
    ],
    [
      "a word of the offer source's own parameter (status not sent)",
      { params: { goal_status: "hold" } },
      { statusParam: "goal_status" },
      { conversion: { status: "pending" } },
    ],
    [
      "`status` wins over the source's own parameter",
      { rawStatus: "approved", params: { goal_status: "hold" } },
      { statusParam: "goal_status" },
      { conversion: { status: "approved" } },
    ],
    [
      "the source's own parameter, classified with its map",
      { params: { st: "SALE" } },
      { statusParam: "st", statusMap: clickbank },
      { conversion: { status: "approved" } },
    ],
  ])("%s", (_name, req, on, expected) => {
    expect(apply(req, on)).toMatchObject(expected);
  });

  it("a map's rejection word deletes the stored conversion", () => {
    expect(apply({ rawStatus: "RFND" }, { statusMap: clickbank }, stored())).toMatchObject({
      kind: "change",
      outcome: "deleted",
      conversion: { status: "rejected", deleted: true, revenue: "10", revision: 5 },
      previousRevenue: "10",
    });
  });

  it("a strict map refuses a word neither it nor the seed knows, naming the known ones", () => {
    const result = apply({ rawStatus: "CANCEL-REBILL" }, { statusMap: clickbank });
    expect(result).toMatchObject({ kind: "refuse", httpStatus: 400 });
    if (result.kind === "refuse") {
      expect(result.error).toMatch(/^unknown status word 'cancel-rebill'; this offer source knows: /);
      expect(result.error).toContain("rfnd");
    }
  });
});

describe("applyConversion: revenue", () => {
  it.each<[string, Partial<ConversionRequest>, Partial<ConvertingHit>, ExistingConversion | null, object]>([
    ["no rev: the page's default payout", {}, {}, null, { conversion: { revenue: "12.5" } }],
    ["rev given", { revenue: rev("40") }, {}, null, { conversion: { revenue: "40" } }],
    [
      "a page that no longer exists converts with 0 and says so",
      {},
      { defaultPayout: null, pageId: "gone" },
      null,
      { conversion: { revenue: "0" }, notes: ["page gone no longer exists: default payout 0"] },
    ],
    [
      "a page that no longer exists with rev given: no note",
      { revenue: rev("3") },
      { defaultPayout: null },
      null,
      { conversion: { revenue: "3" }, notes: [] },
    ],
    [
      "an event's default revenue wins over the page's payout",
      { event: event({ defaultRevenue: "2" }) },
      {},
      null,
      { conversion: { revenue: "2" } },
    ],
    [
      "an event without a default of its own takes the page's payout",
      { event: event({ defaultRevenue: null }) },
      {},
      null,
      { conversion: { revenue: "12.5" } },
    ],
    [
      "an event without revenue records none of what is sent, and says so",
      { event: event({ hasRevenue: false, defaultRevenue: "0" }), revenue: rev("9") },
      {},
      null,
      { conversion: { revenue: "0" }, notes: ["event 'lead' carries no revenue: 9 not recorded"] },
    ],
    [
      "rev=-1 deletes like a rejection, and says so",
      { revenue: rev("-1") },
      {},
      stored(),
      { outcome: "deleted", notes: [REV_MINUS_ONE_NOTE] },
    ],
    [
      "rev=-1 with nothing stored creates none, and says so",
      { revenue: rev("-1") },
      {},
      null,
      { kind: "ignore", reason: "rejected: no conversion to delete", notes: [REV_MINUS_ONE_NOTE] },
    ],
    [
      "rev=-1 with a rejected status: no note (the status says it)",
      { revenue: rev("-1"), rawStatus: "rejected" },
      {},
      stored(),
      { outcome: "deleted", notes: [] },
    ],
    [
      "the notes gathered before come first",
      { revenue: rev("-1"), notes: ["picked by visitor"] },
      {},
      stored(),
      { notes: ["picked by visitor", REV_MINUS_ONE_NOTE] },
    ],
  ])("%s", (_name, req, on, existing, expected) => {
    expect(apply(req, on, existing)).toMatchObject(expected);
  });

  it.each<[string, Partial<ConversionRequest>, Partial<ConvertingHit>, ExistingConversion | null, RegExp]>([
    [
      "a summed repeat above the maximum",
      { revenue: rev("900000") },
      { duplicatePolicy: "add" },
      stored({ revenue: "900000" }),
      /^revenue '1800000' is above the maximum/,
    ],
    [
      "a default payout stored before the bound existed",
      {},
      { defaultPayout: "5000000" },
      null,
      /^revenue '5000000' is above the maximum/,
    ],
  ])("the money range holds for what the decision makes: %s", (_name, req, on, existing, error) => {
    expect(apply(req, on, existing)).toMatchObject({
      kind: "refuse",
      httpStatus: 400,
      error: expect.stringMatching(error),
    });
  });
});

describe("applyConversion: duplicate policy precedence (request > event type > offer source > seed)", () => {
  it.each<[string, Partial<ConversionRequest>, Partial<ConvertingHit>, object]>([
    [
      "the seed's default updates, without a note",
      { revenue: rev("5") },
      {},
      { outcome: "updated", notes: [] },
    ],
    [
      "the offer source's policy",
      { revenue: rev("5") },
      { duplicatePolicy: "add" },
      {
        outcome: "updated",
        conversion: { revenue: "15" },
        notes: ["duplicate policy 'add': repeats add to the revenue"],
      },
    ],
    [
      "new: another conversion",
      { revenue: rev("5") },
      { duplicatePolicy: "new" },
      {
        outcome: "created",
        action: "create_new",
        notes: ["duplicate policy 'new': repeats count as new conversions"],
      },
    ],
    [
      "the event type's policy over the offer source's",
      { revenue: rev("5"), event: event({ duplicatePolicy: "ignore" }) },
      { duplicatePolicy: "add" },
      {
        kind: "ignore",
        reason: "duplicate conversion ignored",
        notes: ["duplicate policy 'ignore': repeats are ignored"],
      },
    ],
    [
      "the request's policy over the event type's (action triggers)",
      { revenue: rev("5"), event: event({ duplicatePolicy: "add" }), duplicatePolicy: "ignore" },
      {},
      { kind: "ignore", notes: ["duplicate policy 'ignore': repeats are ignored"] },
    ],
    [
      "a rejection deletes whatever the policy, without a policy note",
      { rawStatus: "rejected" },
      { duplicatePolicy: "ignore" },
      { outcome: "deleted", notes: [] },
    ],
  ])("%s", (_name, req, on, expected) => {
    expect(apply(req, on, stored())).toMatchObject(expected);
  });
});

describe("applyConversion: the conversion after the change", () => {
  it.each<[string, Partial<ConversionRequest>, ExistingConversion | null, object]>([
    [
      "created at revision 1",
      { revenue: rev("5") },
      null,
      {
        outcome: "created",
        conversion: { revenue: "5", status: "approved", deleted: false, revision: 1 },
        previousRevenue: null,
      },
    ],
    [
      "updated: the next revision, the old revenue kept for the audit chain",
      { revenue: rev("7") },
      stored(),
      {
        outcome: "updated",
        conversion: { revenue: "7", revision: 5 },
        previousRevenue: "10",
        convertedAt: null,
      },
    ],
    [
      "restored from deleted: the chain reads -1 → new",
      { revenue: rev("3") },
      stored({ deleted: true, status: "rejected" }),
      {
        outcome: "restored",
        conversion: { revenue: "3", deleted: false, revision: 5 },
        previousRevenue: "-1",
      },
    ],
    [
      "the same again: ignored (no change)",
      { revenue: rev("10") },
      stored(),
      { kind: "ignore", reason: "no change" },
    ],
    [
      "rejected when already deleted: ignored",
      { rawStatus: "rejected" },
      stored({ deleted: true }),
      { kind: "ignore", reason: "rejected: conversion already deleted" },
    ],
  ])("%s", (_name, req, existing, expected) => {
    expect(apply(req, {}, existing)).toMatchObject(expected);
  });
});

describe("applyConversion: when a new conversion happened", () => {
  const HIT_AT = NOW - 60_000;
  it.each<[string, Partial<ConversionRequest>, Partial<ConvertingHit>, number, string[]]>([
    ["when received", {}, {}, NOW, []],
    ["ts", { conversionTime: NOW - 30_000 }, {}, NOW - 30_000, []],
    [
      "ts in the future: when received",
      { conversionTime: NOW + 60_000 },
      {},
      NOW,
      [`ts ${new Date(NOW + 60_000).toISOString()} is in the future: the time it was received is used`],
    ],
    [
      "ts before its visit: the visit's time",
      { conversionTime: HIT_AT - 1 },
      {},
      HIT_AT,
      [`ts ${new Date(HIT_AT - 1).toISOString()} is before its visit: the visit's time is used`],
    ],
    [
      "the offer source's own time parameter",
      { params: { sale_time: String((NOW - 10_000) / 1000) } },
      { conversionTimeParam: "sale_time" },
      NOW - 10_000,
      [],
    ],
    [
      "ts wins over the source's own parameter",
      { conversionTime: NOW - 20_000, params: { sale_time: String((NOW - 10_000) / 1000) } },
      { conversionTimeParam: "sale_time" },
      NOW - 20_000,
      [],
    ],
    [
      "an unreadable own parameter: when received, and says so",
      { params: { sale_time: "yesterday" } },
      { conversionTimeParam: "sale_time" },
      NOW,
      ["sale_time: 'yesterday' is not unix seconds or an ISO-8601 time; the time it was received is used"],
    ],
  ])("%s", (_name, req, on, at, notes) => {
    expect(apply(req, on)).toMatchObject({ kind: "change", convertedAt: at, notes });
  });
});

describe("applyConversion: the traffic source's postback", () => {
  it("renders the template with what the conversion shows", () => {
    expect(apply({ revenue: rev("4.5") })).toMatchObject({
      postback: {
        trafficSourceId: "ts1",
        event: "conversion",
        url: "https://ts.example/?c=ext&p=4.5&s=approved",
        unknownMacros: [],
        delayMs: 0,
      },
    });
  });

  it("a deletion announces -1 and the rejected status", () => {
    expect(apply({ rawStatus: "rejected" }, {}, stored())).toMatchObject({
      postback: { url: "https://ts.example/?c=ext&p=-1&s=rejected" },
    });
  });

  it.each<[string, Partial<ConversionRequest>, Partial<ConvertingHit>, ExistingConversion | null, object]>([
    ["the source's delay", {}, { postbackDelaySeconds: 90 }, null, { postback: { delayMs: 90_000 } }],
    ["an event names itself", { event: event() }, {}, null, { postback: { event: "lead" } }],
    ["disable_postbacks: none", { disablePostbacks: true }, {}, null, { kind: "change", postback: null }],
    ["an event that fires none", { event: event({ firesPostback: false }) }, {}, null, { postback: null }],
    ["no template: none", {}, { trafficSourcePostbackUrl: null }, null, { postback: null }],
    ["no traffic source: none", {}, { trafficSourceId: null }, null, { postback: null }],
    [
      "an update, for a source that takes none",
      { revenue: rev("7") },
      { postbackOnUpdate: false },
      stored(),
      { outcome: "updated", postback: null },
    ],
    [
      "a rejection, for a source that takes none",
      { rawStatus: "rejected" },
      { postbackOnReject: false },
      stored(),
      { outcome: "deleted", postback: null },
    ],
    [
      "a template with a token in its host: withheld, and says so",
      {},
      { trafficSourcePostbackUrl: "https://{zone}.example/pb" },
      null,
      {
        postback: null,
        notes: [expect.stringMatching(/^traffic-source postback not sent: its URL template /)],
      },
    ],
  ])("%s", (_name, req, on, existing, expected) => {
    expect(apply(req, on, existing)).toMatchObject(expected);
  });
});

describe("conversionEventOf: a custom event type as the rules take it", () => {
  const type = { id: "ev1", alias: "lead", firesPostback: true, duplicatePolicy: "update" as const };
  it.each<[string, { defaultRevenue: string | null; hasRevenue: boolean }, string | null]>([
    ["its own default revenue", { defaultRevenue: "2", hasRevenue: true }, "2"],
    ["no default of its own: the page's payout (null)", { defaultRevenue: null, hasRevenue: true }, null],
    [
      "a type without revenue records 0, whatever its default says",
      { defaultRevenue: "5", hasRevenue: false },
      "0",
    ],
  ])("%s", (_name, over, defaultRevenue) => {
    expect(conversionEventOf({ ...type, ...over })).toEqual({
      typeId: "ev1",
      alias: "lead",
      defaultRevenue,
      hasRevenue: over.hasRevenue,
      firesPostback: true,
      duplicatePolicy: "update",
    });
  });
});
