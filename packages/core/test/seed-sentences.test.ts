// reference/conversion-tracking-seed.txt, read sentence by sentence: every sentence that states a
// conversion rule is quoted here with the pure functions that implement it, plus the bad input a
// network really sends. seed.test.ts runs the whole pipeline; this file pins each sentence on its own.
import { describe, expect, it } from "vitest";
import {
  buildTouches,
  type ChainHit,
  type ConversionInput,
  canConvert,
  classifyStatus,
  conversionIdentity,
  DEFAULT_SESSION_TTL_MS,
  decideConversion,
  type ExistingConversion,
  type FunnelGraph,
  isSessionLive,
  PENDING_REVENUE,
  type PostbackRequest,
  parsePostback,
  parseRevenue,
  pickTagTarget,
  pickVisitorHit,
  REJECTED_REVENUE,
  recordSessionHit,
  resolveAction,
  type SessionHitRef,
  shouldNotifyTrafficSource,
  substituteTokens,
  type VisitorSession,
  validateFunnel,
} from "../src/index.ts";

const HIT = "0191d6b4-8a0c-7cc3-9a0e-4f7d2b1c3e5a";
const VID = "0191d6b4-9b1d-7dd4-8b1f-5a8e3c2d4f6b";
const LANDER = "aaaaaaaa-0000-4000-8000-00000000000c";
const OFFER_A = "aaaaaaaa-0000-4000-8000-00000000000a";
const OFFER_B = "aaaaaaaa-0000-4000-8000-00000000000b";
const PAYOUT = "12.5";
const ALL = { onCreate: true, onUpdate: true, onReject: true } as const;
const DAY = 86_400_000;

function ok(params: Record<string, string>): PostbackRequest {
  const parsed = parsePostback(params);
  if (!parsed.ok) throw new Error(`expected a valid postback, got: ${parsed.reason}`);
  return parsed.request;
}

function bad(params: Record<string, string>): string {
  const parsed = parsePostback(params);
  if (parsed.ok) throw new Error("expected a bad request");
  return parsed.reason;
}

const existing = (over: Partial<ExistingConversion> = {}): ExistingConversion => ({
  id: "c1",
  revenue: "40",
  status: "approved",
  deleted: false,
  revision: 1,
  ...over,
});

/** parsePostback → decideConversion, as the tracker runs them, against one stored conversion or none. */
function decide(params: Record<string, string>, stored: ExistingConversion | null = null) {
  const r = ok(params);
  const input: ConversionInput = {
    existing: stored,
    status: seedStatus(r.rawStatus),
    revenue: r.revenue,
    defaultPayout: PAYOUT,
  };
  return decideConversion(input);
}

const ref = (
  hitId: string,
  pageKind: SessionHitRef["pageKind"],
  pageId: string | null,
  at: number,
): SessionHitRef => ({
  hitId,
  nodeId: `node-${hitId}`,
  pageId,
  pageKind,
  funnelId: "f1",
  at,
});

function session(hits: SessionHitRef[], lastSeenAt = 1_000): VisitorSession {
  return {
    visitorId: VID,
    workspaceId: "w1",
    hits,
    entry: { trafficSourceId: null, externalId: null, campaign: null, cost: null, fields: {} },
    createdAt: 0,
    lastSeenAt,
  };
}

const journey = session([
  ref("h-entry", "none", null, 1),
  ref("h-lander", "lander", LANDER, 2),
  ref("h-offerA", "offer", OFFER_A, 3),
  ref("h-offerB", "offer", OFFER_B, 4),
  ref("h-lander-again", "lander", LANDER, 5),
]);

describe('"Conversions are events that create revenue."', () => {
  it.each<[string, Record<string, string>, string]>([
    ["with rev", { hit: HIT, rev: "3.2" }, "3.2"],
    ["without rev", { hit: HIT }, PAYOUT],
  ])("%s", (_name, params, revenue) => {
    expect(decide(params)).toEqual({ action: "create", revenue, status: "approved" });
  });
});

describe('"They can only occur on lander and offer page nodes"', () => {
  it.each([
    ["lander", true],
    ["offer", true],
    ["external", false],
    ["none", false],
  ] as const)("%s → %s", (kind, converts) => {
    expect(canConvert(kind)).toBe(converts);
  });

  it("a visitor's entry or external hit is never picked, even when its page is asked for", () => {
    const s = session([ref("h-ext", "external", OFFER_A, 9)]);
    expect(pickVisitorHit(s, OFFER_A).ok).toBe(false);
    expect(pickVisitorHit(s, null).ok).toBe(false);
  });
});

describe('"but a conversion for any visitor will also attribute backward to pages/nodes they visited before converting the page."', () => {
  const h = (
    hitId: string,
    prevHitId: string | null,
    pageKind: ChainHit["pageKind"],
    at: number,
  ): ChainHit => ({
    hitId,
    prevHitId,
    nodeId: `n-${hitId}`,
    pageId: pageKind === "lander" || pageKind === "offer" ? `p-${hitId}` : null,
    pageKind,
    funnelId: "f1",
    at,
  });
  it.each<[string, ChainHit[], string, string[]]>([
    [
      "offer after a lander: the lander is credited",
      [h("o", "l", "offer", 3), h("l", "e", "lander", 2), h("e", null, "none", 1)],
      "o",
      ["o:direct", "l:assisted"],
    ],
    [
      "a lander conversion: itself only",
      [h("l", "e", "lander", 2), h("e", null, "none", 1)],
      "l",
      ["l:direct"],
    ],
    [
      "an upsell: every earlier page",
      [h("o2", "o1", "offer", 4), h("o1", "l", "offer", 3), h("l", null, "lander", 2)],
      "o2",
      ["o2:direct", "o1:assisted", "l:assisted"],
    ],
    ["a broken link ends the walk, never fails it", [h("o", "gone", "offer", 3)], "o", ["o:direct"]],
  ])("%s", (_name, chain, converting, expected) => {
    expect(buildTouches(chain, converting).map((t) => `${t.hitId}:${t.kind}`)).toEqual(expected);
  });
});

describe('"There are three ways to track conversions: 1. Using a postback URL 2. Using our JavaScript 3. Using our funnel builder"', () => {
  it("1. a postback names a hit or a visitor", () => {
    expect(ok({ hit: HIT }).target).toEqual({ by: "hit", hitId: HIT });
    expect(ok({ vid: VID }).target).toEqual({ by: "visitor", visitorId: VID, pageId: null });
  });
  it("2. the JavaScript converts the current visitor", () => {
    expect(pickTagTarget({}, VID)).toEqual({
      ok: true,
      target: { by: "visitor", visitorId: VID, pageId: null },
      notes: [],
    });
  });
  it('3. "For any action coming out of a page ... you can choose to trigger specific custom events or conversions."', () => {
    const graph: FunnelGraph = {
      id: "f1",
      workspaceId: "w1",
      entryNodeId: "entry",
      timeZone: "UTC",
      nodes: {
        entry: {
          id: "entry",
          name: "Entry",
          config: { kind: "entry", routes: [{ to: "lander", weight: 1 }] },
        },
        lander: {
          id: "lander",
          name: "Lander",
          config: { kind: "lander", pages: [{ pageId: LANDER, weight: 1 }] },
        },
        offer: {
          id: "offer",
          name: "Offer",
          config: { kind: "offer", pages: [{ pageId: OFFER_A, weight: 1 }] },
        },
      },
      actions: {
        lander: { 1: { from: "lander", number: 1, to: "offer", triggers: { conversion: { revenue: "2" } } } },
      },
    };
    const action = resolveAction(graph, "lander", 1);
    expect(action.ok && action.action.triggers).toEqual({ conversion: { revenue: "2" } });
    expect(validateFunnel(graph)).toEqual([]);
    const broken = {
      ...graph,
      actions: {
        lander: {
          1: { from: "lander", number: 1, to: "offer", triggers: { conversion: { revenue: "lots" } } },
        },
      },
    };
    expect(validateFunnel(broken).map((p) => p.message)).toEqual([
      expect.stringContaining("'lots' is not a number"),
    ]);
  });
});

describe('"https://DOMAIN/pb/?hit=REPLACE&tx=REPLACE&rev=REPLACE"', () => {
  it("the template sent unedited is refused in plain words, not converted", () => {
    expect(bad({ hit: "REPLACE", tx: "REPLACE", rev: "REPLACE" })).toBe(
      "hit or vid is required (hit was the unreplaced macro 'REPLACE')",
    );
  });
});

describe('"hit = a unique hit ID (required)"', () => {
  it.each<[string, Record<string, string>, string]>([
    ["no hit", { tx: "1", rev: "2" }, "hit or vid is required"],
    ["empty hit", { hit: "" }, "hit or vid is required"],
    ["whitespace", { hit: "   " }, "hit or vid is required"],
    ["not an ID", { hit: "12345" }, "hit '12345' is not a valid hit ID"],
    ["a truncated ID", { hit: HIT.slice(0, 30) }, `hit '${HIT.slice(0, 30)}' is not a valid hit ID`],
    ["an ID in braces", { hit: `{${HIT}}` }, `hit '{${HIT}}' is not a valid hit ID`],
  ])("%s → %s", (_name, params, reason) => {
    expect(bad(params)).toBe(reason);
  });

  it.each([HIT, HIT.toUpperCase(), HIT.replace(/-/g, ""), ` ${HIT}\t`])("%j is the hit %s", (raw) => {
    expect(ok({ hit: raw }).target).toEqual({ by: "hit", hitId: HIT });
  });
});

describe('"tx = an optional transaction ID"', () => {
  it.each<[Record<string, string>, string | null]>([
    [{ hit: HIT }, null],
    [{ hit: HIT, tx: "" }, null],
    [{ hit: HIT, tx: "{transaction}" }, null],
    [{ hit: HIT, tx: "ORD-77" }, "ORD-77"],
    [{ hit: HIT, tx: " ORD-77 " }, "ORD-77"],
  ])("%j → tx %j", (params, tx) => {
    expect(ok(params).tx).toBe(tx);
  });

  it.each<[string, Record<string, string>, string]>([
    ["too long", { hit: HIT, tx: "x".repeat(256) }, "tx is longer than 255 characters"],
    ["with a control character", { hit: HIT, tx: "a\tb" }, "tx 'a\tb' contains control characters"],
  ])("a tx %s is refused", (_name, params, reason) => {
    expect(bad(params)).toBe(reason);
  });
});

describe('"rev = optional conversion revenue (if none passed, we will use the default payout defined in the offer\'s configuration)"', () => {
  it.each([
    ["12.5", "12.5"],
    ["12.50", "12.5"],
    ["12,50", "12.5"],
    ["0", "0"],
  ])("rev=%j → %s", (rev, revenue) => {
    expect(decide({ hit: HIT, rev })).toMatchObject({ action: "create", revenue });
  });

  it.each(["", " ", "{payout}", "{{payout}}", "[payout]", "%payout%", "#payout#", "$payout", "REPLACE"])(
    "rev=%j counts as none: the default payout",
    (rev) => {
      expect(decide({ hit: HIT, rev })).toMatchObject({ action: "create", revenue: PAYOUT });
    },
  );

  it.each([
    ["abc", "rev 'abc' is not a number"],
    ["NaN", "rev 'NaN' is not a number"],
    ["Infinity", "rev 'Infinity' is not a number"],
    ["-Infinity", "rev '-Infinity' is not a number"],
    ["1e3", "rev '1e3' is not a number (exponents are not accepted)"],
    ["1,234.56", "rev '1,234.56' is not a number (thousands separators are not accepted)"],
    ["12.50 USD", "rev '12.50 USD' is not a number"],
    ["$12.50", "rev '$12.50' is not a number"],
    ["--5", "rev '--5' is not a number"],
    ["0x10", "rev '0x10' is not a number"],
    ["1000000000000", "rev '1000000000000' is too large (at most 12 integer digits)"],
  ])("rev=%j is not a finite number: a 400", (rev, reason) => {
    expect(bad({ hit: HIT, rev })).toBe(reason);
  });
});

describe('"https://DOMAIN/pb/?hit={{clickid}}&tx={{transaction}}&rev={{payout}}"', () => {
  it("a network that replaced clickid but not the others: a conversion at the default payout, noted", () => {
    const r = ok({ hit: HIT, tx: "{{transaction}}", rev: "{{payout}}" });
    expect([r.tx, r.revenue]).toEqual([null, { kind: "absent" }]);
    expect(r.notes).toEqual([
      "unreplaced macro in tx: '{{transaction}}'",
      "unreplaced macro in rev: '{{payout}}'",
    ]);
  });
  it("a network that replaced nothing: refused", () => {
    expect(bad({ hit: "{{clickid}}", tx: "{{transaction}}", rev: "{{payout}}" })).toBe(
      "hit or vid is required (hit was the unreplaced macro '{{clickid}}')",
    );
  });
  it('"changing your offer to pass our hit to them using the token {hit}"', () => {
    expect(substituteTokens("https://net.example/o?clickid={hit}", { hit: HIT }).url).toBe(
      `https://net.example/o?clickid=${HIT}`,
    );
  });
});

describe("Conversion tracking using JavaScript", () => {
  it('"replace the revenue value with your own, or leave it blank to use the offer\'s default"', () => {
    expect(parseRevenue("")).toEqual({ kind: "absent" });
    expect(parseRevenue("VALUE")).toEqual({ kind: "invalid", reason: "rev 'VALUE' is not a number" });
    expect(parseRevenue("7.5")).toEqual({ kind: "value", value: "7.5" });
  });

  it.each<[string, Parameters<typeof pickTagTarget>[0], string]>([
    ['"this code will convert the most recently visited offer view"', {}, "h-offerB"],
    ['"If you want to force a specific page ID you can pass the p parameter"', { p: OFFER_A }, "h-offerA"],
    ["p of a lander", { p: LANDER }, "h-lander-again"],
    ['"you can also force a specific vid"', { vid: VID }, "h-offerB"],
    ['"or hit"', { hit: HIT }, HIT],
  ])("%s", (_name, args, hitId) => {
    const picked = pickTagTarget(args, VID);
    if (!picked.ok) throw new Error(picked.reason);
    const { target } = picked;
    const hit = target.by === "hit" ? target.hitId : pickVisitorHit(journey, target.pageId);
    expect(typeof hit === "string" ? hit : hit.ok && hit.hit.hitId).toBe(hitId);
  });

  it('"(don\'t pass both)"', () => {
    expect(pickTagTarget({ hit: HIT, vid: VID }, VID)).toEqual({
      ok: false,
      reason: "pass vid or hit, not both",
      field: "vid",
    });
  });

  it('"You may also pass a transaction ID with the tx parameter": tx is part of the identity', () => {
    expect(conversionIdentity(HIT, null, "A").key).not.toBe(conversionIdentity(HIT, null, "B").key);
    expect(conversionIdentity(HIT, null, "A").key).not.toBe(conversionIdentity(HIT, null, null).key);
  });
});

describe('"if you would like to send a postback/conversion to FunnelFlux but NOT trigger an event to your traffic source, you can add ...&disable_postbacks=true..."', () => {
  it.each<[Record<string, string>, boolean]>([
    [{ hit: HIT }, true],
    [{ hit: HIT, disable_postbacks: "true" }, false],
    [{ hit: HIT, disable_postbacks: "TRUE" }, false],
    [{ hit: HIT, disable_postbacks: "false" }, true],
    [{ hit: HIT, disable_postbacks: "{disable}" }, true],
  ])("%j notifies the traffic source: %s", (params, notify) => {
    const r = ok(params);
    expect(
      shouldNotifyTrafficSource({
        decision: decide(params),
        disablePostbacks: r.disablePostbacks,
        source: ALL,
      }),
    ).toBe(notify);
  });

  it('"delayed conversions with more accurate revenue cause updates in FunnelFlux without altering traffic source conversion data"', () => {
    const params = { hit: HIT, rev: "41.37", disable_postbacks: "true" };
    const decision = decide(params, existing());
    expect(decision).toMatchObject({ action: "update", revenue: "41.37", previousRevenue: "40" });
    expect(shouldNotifyTrafficSource({ decision, disablePostbacks: true, source: ALL })).toBe(false);
  });
});

describe("Handling Event Statuses", () => {
  it('"you can use the status parameter to modify the existing conversion"', () => {
    expect(decide({ hit: HIT, tx: "T", status: "pending" }, existing())).toMatchObject({
      action: "update",
      revenue: PENDING_REVENUE,
      status: "pending",
    });
  });

  it.each(["pending", "hold", "preapproved", "PENDING", "Hold", " preApproved "])(
    '"a status value of pending, hold or preapproved ... will adjust revenue to 0.01 – creating a conversion": %j',
    (status) => {
      expect(decide({ hit: HIT, rev: "99", status })).toEqual({
        action: "create",
        revenue: "0.01",
        status: "pending",
      });
    },
  );

  it.each(["rejected", "reject", "trash", "cancelled", "REJECTED", "Trash"])(
    '"When status is set to rejected, reject, trash or cancelled, the revenue will be set to -1 and this will delete the existing conversion (if any), or create none": %j',
    (status) => {
      expect(decide({ hit: HIT, rev: "99", status }, existing())).toEqual({
        action: "delete",
        previousRevenue: "40",
      });
      expect(decide({ hit: HIT, rev: "99", status })).toMatchObject({ action: "ignore" });
      expect(REJECTED_REVENUE).toBe("-1");
    },
  );

  it.each(["approved", "sale", "lead", "paid", "canceled", "1", "{status}", ""])(
    '"If status is any other value, it will treat it as a normal conversion, essentially ignoring status": %j',
    (status) => {
      expect(decide({ hit: HIT, rev: "5", status })).toEqual({
        action: "create",
        revenue: "5",
        status: "approved",
      });
    },
  );

  it("a status word longer than any network sends is refused", () => {
    expect(bad({ hit: HIT, status: "x".repeat(65) })).toBe("status is longer than 64 characters");
  });

  it("statuses are case-insensitive throughout", () => {
    for (const word of ["PENDING", "pending", "PeNdInG"])
      expect(classifyStatus(word)).toMatchObject({ status: "pending" });
  });
});

describe("Alternative postback method - Session-based VID", () => {
  it('"https://DOMAIN/pb/?vid=REPLACE&p=REPLACE&tx=REPLACE&rev=REPLACE" sent unedited is refused', () => {
    expect(bad({ vid: "REPLACE", p: "REPLACE", tx: "REPLACE", rev: "REPLACE" })).toBe(
      "hit or vid is required (vid was the unreplaced macro 'REPLACE')",
    );
  });

  it('"we will find that VID/user, then find the most recent hit ID for that page ID"', () => {
    const r = ok({ vid: VID, p: LANDER, tx: "T", rev: "1" });
    expect(r.target).toEqual({ by: "visitor", visitorId: VID, pageId: LANDER });
    expect(pickVisitorHit(journey, LANDER)).toMatchObject({ ok: true, hit: { hitId: "h-lander-again" } });
  });

  it.each<[string, Record<string, string>, string]>([
    ["a malformed vid", { vid: "abc" }, "vid 'abc' is not a valid visitor ID"],
    ["a malformed page ID", { vid: VID, p: "offer-1" }, "p 'offer-1' is not a valid page ID"],
  ])("%s is refused", (_name, params, reason) => {
    expect(bad(params)).toBe(reason);
  });

  it('"These sessions last for 4 days by default, and they automatically extend when getting activity"', () => {
    expect(DEFAULT_SESSION_TTL_MS).toBe(4 * DAY);
    const s = session([ref("h1", "offer", OFFER_A, 0)], 0);
    expect(isSessionLive(s, 4 * DAY - 1)).toBe(true);
    expect(isSessionLive(s, 4 * DAY)).toBe(false);
    const extended = recordSessionHit(s, ref("h2", "offer", OFFER_B, 3 * DAY), 3 * DAY);
    expect(isSessionLive(extended, 6 * DAY)).toBe(true);
  });

  it('"it won\'t work if you fire some random conversion 6 months later with no previous activity"', () => {
    expect(isSessionLive(journey, journey.lastSeenAt + 182 * DAY)).toBe(false);
  });

  it('"you must also pass a page ID value to say what offer converted -- else it will use the last visited offer for that user\'s session"', () => {
    expect(pickVisitorHit(journey, null)).toMatchObject({ ok: true, hit: { hitId: "h-offerB" } });
    expect(pickVisitorHit(session([ref("h-l", "lander", LANDER, 1)]), null)).toEqual({
      ok: false,
      reason: `visitor ${VID} has visited no offer`,
    });
  });

  it('"flows with upsells/multiple offers, where you want to store one user ID and send multiple conversion events"', () => {
    const a = pickVisitorHit(journey, OFFER_A);
    const b = pickVisitorHit(journey, OFFER_B);
    expect([a.ok && a.hit.hitId, b.ok && b.hit.hitId]).toEqual(["h-offerA", "h-offerB"]);
  });
});

describe("Using Visitor ID vs Hit ID", () => {
  it('"No need to specify another value like page ID, as hit IDs are already unique to a specific page visit"', () => {
    expect(ok({ hit: HIT, p: OFFER_A })).toMatchObject({
      target: { by: "hit", hitId: HIT },
      notes: ["p ignored: hit given"],
    });
  });

  it('"Hits are stored forever ... so can be converted at any time in the future": no rule looks at the hit\'s age', () => {
    const sixMonthsOld = "0184f1a0-0000-7000-8000-000000000001";
    expect(decide({ hit: sixMonthsOld })).toEqual({ action: "create", revenue: PAYOUT, status: "approved" });
  });

  it('"you can\'t use a hit to convert different pages for a visitor": a vid alongside a hit changes nothing', () => {
    expect(ok({ hit: HIT, vid: VID, p: OFFER_B })).toMatchObject({
      target: { by: "hit", hitId: HIT },
      notes: ["hit and vid both given: hit wins"],
    });
  });
});

describe("identity: the same (hit, tx) again updates; another tx is another conversion; no tx never doubles", () => {
  it.each<[string, Record<string, string>, ExistingConversion | null, string]>([
    ["same tx, new revenue: update", { hit: HIT, tx: "T", rev: "50" }, existing(), "update"],
    ["same tx, same revenue: nothing to change", { hit: HIT, tx: "T", rev: "40.00" }, existing(), "ignore"],
    ["no tx repeated: nothing to change", { hit: HIT, rev: "40" }, existing(), "ignore"],
    [
      "another tx: its own identity, so nothing stored yet",
      { hit: HIT, tx: "T2", rev: "40" },
      null,
      "create",
    ],
    ["after a rejection: restored", { hit: HIT, tx: "T", rev: "40" }, existing({ deleted: true }), "restore"],
  ])("%s", (_name, params, stored, action) => {
    expect(decide(params, stored).action).toBe(action);
  });
});

/** The seed's reading of a status word (no offer-source map), as applyConversion makes it. */
function seedStatus(raw: string | null) {
  const classified = classifyStatus(raw);
  if (classified.kind !== "ok") throw new Error(`unknown status ${raw}`);
  return classified.status;
}
