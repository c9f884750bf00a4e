import { describe, expect, it } from "vitest";
import {
  canConvert,
  DEFAULT_SESSION_TTL_MS,
  isSessionLive,
  type PageKind,
  pickTagTarget,
  pickVisitorHit,
  recordSessionHit,
  type SessionHitRef,
  type TagTargetPick,
  type TagTrackArgs,
  type VisitorSession,
  viewOfRecentHit,
} from "../src/index.ts";

const VID = "0191d6b4-9b1d-7dd4-8b1f-5a8e3c2d4f6b";
const OTHER_VID = "0191d6b4-9b1d-7dd4-8b1f-000000000002";
const HIT = "0191d6b4-8a0c-7cc3-9a0e-4f7d2b1c3e5a";
const LANDER = "aaaaaaaa-0000-4000-8000-000000000001";
const OFFER_A = "aaaaaaaa-0000-4000-8000-00000000000a";
const OFFER_B = "aaaaaaaa-0000-4000-8000-00000000000b";

function hit(hitId: string, pageKind: PageKind, pageId: string | null, at: number): SessionHitRef {
  return { hitId, nodeId: `n-${hitId}`, pageId, pageKind, funnelId: "f1", at };
}

function session(hits: SessionHitRef[]): VisitorSession {
  return {
    visitorId: VID,
    workspaceId: "w1",
    hits,
    entry: { trafficSourceId: "ts1", externalId: "ext", campaign: null, cost: null, fields: {} },
    createdAt: 0,
    lastSeenAt: 100,
  };
}

// entry → lander → offer A → lander again → offer B → offer A again → external
const journey = session([
  hit("h-entry", "none", null, 1),
  hit("h-lander1", "lander", LANDER, 2),
  hit("h-offerA1", "offer", OFFER_A, 3),
  hit("h-lander2", "lander", LANDER, 4),
  hit("h-offerB", "offer", OFFER_B, 5),
  hit("h-offerA2", "offer", OFFER_A, 6),
  hit("h-ext", "external", null, 7),
]);

describe("pickVisitorHit", () => {
  it.each<[string, VisitorSession, string | null, string | { reason: string }]>([
    ["vid + p: the most recent hit on that offer", journey, OFFER_A, "h-offerA2"],
    ["vid + p: another offer", journey, OFFER_B, "h-offerB"],
    ["vid + p: a lander page converts too", journey, LANDER, "h-lander2"],
    ["vid + p: page ID in upper case", journey, OFFER_B.toUpperCase(), "h-offerB"],
    ["vid alone: the last visited offer", journey, null, "h-offerA2"],
    [
      "vid + p: a page the visitor never saw",
      journey,
      "bbbbbbbb-0000-4000-8000-000000000000",
      { reason: `visitor ${VID} has no hit on page bbbbbbbb-0000-4000-8000-000000000000` },
    ],
    [
      "vid alone: only landers visited",
      session([hit("h1", "lander", LANDER, 1)]),
      null,
      { reason: `visitor ${VID} has visited no offer` },
    ],
    ["vid alone: empty session", session([]), null, { reason: `visitor ${VID} has visited no offer` }],
    [
      "most recent by time even if stored out of order",
      session([hit("late", "offer", OFFER_A, 9), hit("early", "offer", OFFER_B, 2)]),
      null,
      "late",
    ],
    [
      "a tie in time goes to the later journey entry",
      session([hit("first", "offer", OFFER_A, 5), hit("second", "offer", OFFER_A, 5)]),
      OFFER_A,
      "second",
    ],
  ])("%s", (_name, s, pageId, expected) => {
    const picked = pickVisitorHit(s, pageId);
    if (typeof expected === "string") expect(picked).toMatchObject({ ok: true, hit: { hitId: expected } });
    else expect(picked).toEqual({ ok: false, ...expected });
  });
});

describe("canConvert", () => {
  it.each<[PageKind, boolean]>([
    ["lander", true],
    ["offer", true],
    ["external", false],
    ["none", false],
  ])("%s → %s", (kind, ok) => {
    expect(canConvert(kind)).toBe(ok);
  });
});

describe("pickTagTarget", () => {
  it.each<[string, TagTrackArgs, string | null, TagTargetPick]>([
    [
      "nothing: the current visitor's last offer",
      {},
      VID,
      { ok: true, target: { by: "visitor", visitorId: VID, pageId: null }, notes: [] },
    ],
    [
      "p: the current visitor on that page",
      { p: OFFER_B },
      VID,
      { ok: true, target: { by: "visitor", visitorId: VID, pageId: OFFER_B }, notes: [] },
    ],
    [
      "forced vid",
      { vid: OTHER_VID },
      VID,
      { ok: true, target: { by: "visitor", visitorId: OTHER_VID, pageId: null }, notes: [] },
    ],
    [
      "forced vid + p",
      { vid: OTHER_VID, p: OFFER_A },
      null,
      { ok: true, target: { by: "visitor", visitorId: OTHER_VID, pageId: OFFER_A }, notes: [] },
    ],
    ["forced hit", { hit: HIT }, VID, { ok: true, target: { by: "hit", hitId: HIT }, notes: [] }],
    [
      "forced hit with p",
      { hit: HIT, p: OFFER_A },
      VID,
      { ok: true, target: { by: "hit", hitId: HIT }, notes: ["p ignored: hit given"] },
    ],
    [
      "empty strings are absent",
      { hit: "", vid: "", p: "" },
      VID,
      { ok: true, target: { by: "visitor", visitorId: VID, pageId: null }, notes: [] },
    ],
    [
      "a macro is noted and absent",
      { hit: "{hit}" },
      VID,
      {
        ok: true,
        target: { by: "visitor", visitorId: VID, pageId: null },
        notes: ["unreplaced macro in hit"],
      },
    ],
    [
      "vid and hit: don't pass both",
      { vid: VID, hit: HIT },
      VID,
      { ok: false, reason: "pass vid or hit, not both", field: "vid" },
    ],
    ["no visitor yet", {}, null, { ok: false, reason: "no visitor on this page yet: pass vid or hit" }],
    [
      "a broken current visitor",
      { p: OFFER_A },
      "garbage",
      { ok: false, reason: "no visitor on this page yet: pass vid or hit" },
    ],
    [
      "malformed hit",
      { hit: "x" },
      VID,
      { ok: false, reason: "hit 'x' is not a valid hit ID", field: "hit" },
    ],
    ["malformed p", { p: "x" }, VID, { ok: false, reason: "p 'x' is not a valid page ID", field: "p" }],
  ])("%s", (_name, args, current, expected) => {
    expect(pickTagTarget(args, current)).toEqual(expected);
  });
});

describe("sessions", () => {
  it("extends on activity and expires after the TTL", () => {
    const s = session([]);
    expect(DEFAULT_SESSION_TTL_MS).toBe(4 * 24 * 3600 * 1000);
    expect(isSessionLive(s, 100 + DEFAULT_SESSION_TTL_MS - 1)).toBe(true);
    expect(isSessionLive(s, 100 + DEFAULT_SESSION_TTL_MS)).toBe(false);
    const later = recordSessionHit(s, hit("h9", "offer", OFFER_A, 5_000), 5_000);
    expect(later.lastSeenAt).toBe(5_000);
    expect(isSessionLive(later, 100 + DEFAULT_SESSION_TTL_MS)).toBe(true);
  });

  it("keeps the journey bounded and in order, without repeating a hit", () => {
    let s = session([]);
    for (let i = 0; i < 10; i++) s = recordSessionHit(s, hit(`h${i}`, "offer", OFFER_A, i), i, 4);
    s = recordSessionHit(s, hit("h8", "offer", OFFER_A, 8), 10, 4);
    expect(s.hits.map((h) => h.hitId)).toEqual(["h6", "h7", "h9", "h8"]);
  });
});

describe("viewOfRecentHit", () => {
  const hit = (id: string, nodeId: string, pageId: string, at: number) => ({
    hitId: id,
    nodeId,
    pageId,
    pageKind: "offer" as const,
    funnelId: "f",
    at,
  });
  const page = { nodeId: "offer-node", pageId: "offer-page" };
  const now = 1_000_000;
  it.each([
    ["no hits", [], null],
    [
      "the redirect's hit, seconds old",
      [hit("l", "lander", "lp", now - 9_000), hit("o", "offer-node", "offer-page", now - 2_000)],
      "o",
    ],
    ["exactly at the window's edge", [hit("o", "offer-node", "offer-page", now - 30_000)], "o"],
    ["too old: a new visit", [hit("o", "offer-node", "offer-page", now - 30_001)], null],
    [
      "the latest hit is another page",
      [hit("o", "offer-node", "offer-page", now - 5_000), hit("l", "lander", "lp", now - 1_000)],
      null,
    ],
    ["same node, another page of it", [hit("o", "offer-node", "other-page", now - 1_000)], null],
    ["a clock that went backwards is not trusted", [hit("o", "offer-node", "offer-page", now + 5_000)], null],
  ])("%s", (_name, hits, expected) => {
    expect(viewOfRecentHit(hits, page, now)?.hitId ?? null).toBe(expected);
  });
});
