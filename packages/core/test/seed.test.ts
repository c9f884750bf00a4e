// The seed's conversion rules, sentence by sentence, run end to end through the pure pipeline the
// tracker uses: parsePostback → (pickVisitorHit) → decideConversion → shouldNotifyTrafficSource.
import { describe, expect, it } from "vitest";
import {
  buildTouches,
  type ChainHit,
  type ConversionDecision,
  canConvert,
  classifyStatus,
  conversionIdentity,
  decideConversion,
  type ExistingConversion,
  type PageKind,
  parsePostback,
  pickTagTarget,
  pickVisitorHit,
  type SessionHitRef,
  shouldNotifyTrafficSource,
  substituteTokens,
  type VisitorSession,
} from "../src/index.ts";

const HIT = "0191d6b4-8a0c-7cc3-9a0e-4f7d2b1c3e5a";
const VID = "0191d6b4-9b1d-7dd4-8b1f-5a8e3c2d4f6b";
const OFFER_1 = "aaaaaaaa-0000-4000-8000-000000000001";
const OFFER_2 = "aaaaaaaa-0000-4000-8000-000000000002";
const DEFAULT_PAYOUT = "30";
const SOURCE = { onCreate: true, onUpdate: true, onReject: true } as const;

/** The whole postback path over an in-memory store keyed by conversion identity. */
function run(postbacks: Array<Record<string, string>>) {
  const store = new Map<string, ExistingConversion>();
  const log: Array<{ decision: ConversionDecision; notify: boolean; key: string }> = [];
  for (const params of postbacks) {
    const parsed = parsePostback(params);
    if (!parsed.ok) throw new Error(parsed.reason);
    const { request } = parsed;
    if (request.target.by !== "hit") throw new Error("hit postbacks only here");
    const id = conversionIdentity(request.target.hitId, request.eventAlias, request.tx);
    const existing = store.get(id.key) ?? null;
    const decision = decideConversion({
      existing,
      status: seedStatus(request.rawStatus),
      revenue: request.revenue,
      defaultPayout: DEFAULT_PAYOUT,
    });
    const notify = shouldNotifyTrafficSource({
      decision,
      disablePostbacks: request.disablePostbacks,
      source: SOURCE,
    });
    log.push({ decision, notify, key: id.key });
    const revision = (existing?.revision ?? 0) + 1;
    switch (decision.action) {
      case "create":
      case "restore":
      case "update":
        store.set(id.key, {
          id: id.key,
          revenue: decision.revenue,
          status: decision.status,
          deleted: false,
          revision,
        });
        break;
      case "delete":
        if (existing) store.set(id.key, { ...existing, deleted: true, revision });
        break;
      default:
        break;
    }
  }
  const live = [...store.values()].filter((c) => !c.deleted).map((c) => `${c.status}:${c.revenue}`);
  return {
    live: live.sort(),
    actions: log.map((l) => l.decision.action),
    notified: log.map((l) => l.notify),
  };
}

describe("seed: postback by hit ID", () => {
  it.each<[string, Array<Record<string, string>>, string[], string[]]>([
    [
      "hit = a unique hit ID (required); rev optional: no rev → the offer's default payout",
      [{ hit: HIT }],
      ["approved:30"],
      ["create"],
    ],
    ["rev = optional conversion revenue", [{ hit: HIT, rev: "12.50" }], ["approved:12.5"], ["create"]],
    [
      "https://DOMAIN/pb/?hit={{clickid}}&tx={{transaction}}&rev={{payout}} with rev unreplaced",
      [{ hit: HIT, tx: "T1", rev: "{{payout}}" }],
      ["approved:30"],
      ["create"],
    ],
    [
      "tx = an optional transaction ID: the same (hit, tx) again updates (delayed revenue)",
      [
        { hit: HIT, tx: "T1", rev: "5" },
        { hit: HIT, tx: "T1", rev: "7.25" },
      ],
      ["approved:7.25"],
      ["create", "update"],
    ],
    [
      "another tx on the same hit is another conversion (upsells)",
      [
        { hit: HIT, tx: "T1", rev: "5" },
        { hit: HIT, tx: "T2", rev: "20" },
      ],
      ["approved:20", "approved:5"],
      ["create", "create"],
    ],
    [
      "a repeat without tx updates, never doubles",
      [
        { hit: HIT, rev: "5" },
        { hit: HIT, rev: "5" },
        { hit: HIT, rev: "6" },
      ],
      ["approved:6"],
      ["create", "ignore", "update"],
    ],
  ])("%s", (_name, postbacks, live, actions) => {
    const result = run(postbacks);
    expect(result.live).toEqual(live);
    expect(result.actions).toEqual(actions);
  });
});

describe("seed: handling event statuses", () => {
  it.each<[string, Array<Record<string, string>>, string[], string[]]>([
    ...(["pending", "hold", "preapproved", "HOLD"] as const).map(
      (status): [string, Array<Record<string, string>>, string[], string[]] => [
        `status ${status}: "adjust revenue to 0.01 – creating a conversion but with a tiny revenue value"`,
        [{ hit: HIT, tx: "T1", rev: "40", status }],
        ["pending:0.01"],
        ["create"],
      ],
    ),
    ...(["rejected", "reject", "trash", "cancelled", "Cancelled"] as const).map(
      (status): [string, Array<Record<string, string>>, string[], string[]] => [
        `status ${status}: "this will delete the existing conversion (if any)"`,
        [
          { hit: HIT, tx: "T1", rev: "40" },
          { hit: HIT, tx: "T1", status },
        ],
        [],
        ["create", "delete"],
      ],
    ),
    [
      'status rejected with nothing stored: "or create none"',
      [{ hit: HIT, tx: "T1", rev: "40", status: "rejected" }],
      [],
      ["ignore"],
    ],
    [
      '"If status is any other value, it will treat it as a normal conversion"',
      [{ hit: HIT, tx: "T1", rev: "40", status: "sale" }],
      ["approved:40"],
      ["create"],
    ],
    [
      "status unreplaced: a normal conversion",
      [{ hit: HIT, tx: "T1", rev: "40", status: "{status}" }],
      ["approved:40"],
      ["create"],
    ],
    [
      '"events that change status and are sent multiple times ... modify the existing conversion"',
      [
        { hit: HIT, tx: "T1", rev: "40", status: "pending" },
        { hit: HIT, tx: "T1", rev: "40", status: "approved" },
      ],
      ["approved:40"],
      ["create", "update"],
    ],
    [
      "pending → approved without rev → the default payout",
      [
        { hit: HIT, tx: "T1", status: "hold" },
        { hit: HIT, tx: "T1", status: "approved" },
      ],
      ["approved:30"],
      ["create", "update"],
    ],
    [
      "pending → rejected deletes it",
      [
        { hit: HIT, tx: "T1", status: "pending" },
        { hit: HIT, tx: "T1", status: "trash" },
      ],
      [],
      ["create", "delete"],
    ],
    [
      "rejected only deletes its own (hit, tx)",
      [
        { hit: HIT, tx: "T1", rev: "5" },
        { hit: HIT, tx: "T2", rev: "20" },
        { hit: HIT, tx: "T2", status: "rejected" },
      ],
      ["approved:5"],
      ["create", "create", "delete"],
    ],
    [
      "approved again after a rejection comes back",
      [
        { hit: HIT, tx: "T1", rev: "5" },
        { hit: HIT, tx: "T1", status: "rejected" },
        { hit: HIT, tx: "T1", rev: "6" },
      ],
      ["approved:6"],
      ["create", "delete", "restore"],
    ],
  ])("%s", (_name, postbacks, live, actions) => {
    const result = run(postbacks);
    expect(result.live).toEqual(live);
    expect(result.actions).toEqual(actions);
  });
});

describe("seed: disabling postbacks to your traffic source", () => {
  it.each<[string, Array<Record<string, string>>, boolean[]]>([
    ["without disable_postbacks the traffic source hears about it", [{ hit: HIT, rev: "1" }], [true]],
    [
      "https://DOMAIN/pb/?hit={token}&rev={token}&disable_postbacks=true records but fires nothing",
      [{ hit: HIT, rev: "1", disable_postbacks: "true" }],
      [false],
    ],
    [
      "search arbitrage: delayed revenue updates without altering traffic source data",
      [
        { hit: HIT, rev: "1" },
        { hit: HIT, rev: "1.37", disable_postbacks: "true" },
      ],
      [true, false],
    ],
  ])("%s", (_name, postbacks, notified) => {
    const result = run(postbacks);
    expect(result.notified).toEqual(notified);
    expect(result.live).toHaveLength(1);
  });
});

const ref = (hitId: string, pageKind: PageKind, pageId: string | null, at: number): SessionHitRef => ({
  hitId,
  nodeId: `n-${hitId}`,
  pageId,
  pageKind,
  funnelId: "f1",
  at,
});
const session: VisitorSession = {
  visitorId: VID,
  workspaceId: "w1",
  hits: [
    ref("h-lander", "lander", "bbbbbbbb-0000-4000-8000-000000000001", 1),
    ref("h-offer1-a", "offer", OFFER_1, 2),
    ref("h-offer2", "offer", OFFER_2, 3),
    ref("h-offer1-b", "offer", OFFER_1, 4),
    ref("h-upsell", "offer", OFFER_2, 5),
  ],
  entry: { trafficSourceId: null, externalId: null, campaign: null, cost: null, fields: {} },
  createdAt: 0,
  lastSeenAt: 5,
};

describe("seed: session-based VID", () => {
  it.each<[string, Record<string, string>, string]>([
    [
      '?vid=REPLACE&p=REPLACE: "find that VID/user, then find the most recent hit ID for that page ID"',
      { vid: VID, p: OFFER_1 },
      "h-offer1-b",
    ],
    ['"else it will use the last visited offer for that user\'s session"', { vid: VID }, "h-upsell"],
    ["p unreplaced: the last visited offer", { vid: VID, p: "REPLACE" }, "h-upsell"],
    ["hit and vid: the hit is used", { hit: HIT, vid: VID, p: OFFER_1 }, HIT],
  ])("%s", (_name, params, hitId) => {
    const parsed = parsePostback(params);
    if (!parsed.ok) throw new Error(parsed.reason);
    const { target } = parsed.request;
    const picked = target.by === "hit" ? target.hitId : pickVisitorHit(session, target.pageId);
    expect(typeof picked === "string" ? picked : picked.ok ? picked.hit.hitId : picked.reason).toBe(hitId);
  });

  it('"you can\'t use a hit to convert different pages" but a vid converts several (upsells)', () => {
    const first = pickVisitorHit(session, OFFER_1);
    const second = pickVisitorHit(session, OFFER_2);
    expect(first.ok && second.ok && first.hit.hitId !== second.hit.hitId).toBe(true);
  });

  it("an unknown page for that visitor gets a clear answer", () => {
    expect(pickVisitorHit(session, "cccccccc-0000-4000-8000-000000000000")).toEqual({
      ok: false,
      reason: `visitor ${VID} has no hit on page cccccccc-0000-4000-8000-000000000000`,
    });
  });
});

describe("seed: JavaScript conversions", () => {
  it.each<[string, Record<string, string>, unknown]>([
    [
      '"As it is, this code will convert the most recently visited offer view"',
      {},
      { by: "visitor", visitorId: VID, pageId: null },
    ],
    [
      '"force a specific page ID you can pass the p parameter"',
      { p: OFFER_1 },
      { by: "visitor", visitorId: VID, pageId: OFFER_1 },
    ],
    ['"you can also force a specific vid"', { vid: VID }, { by: "visitor", visitorId: VID, pageId: null }],
    ['"or hit"', { hit: HIT }, { by: "hit", hitId: HIT }],
    ['"(don\'t pass both)"', { hit: HIT, vid: VID }, "pass vid or hit, not both"],
  ])("%s", (_name, args, expected) => {
    const picked = pickTagTarget(args, VID);
    expect(picked.ok ? picked.target : picked.reason).toEqual(expected);
  });
});

describe("seed: where conversions occur and attribute", () => {
  it('"They can only occur on lander and offer page nodes"', () => {
    expect((["lander", "offer", "external", "none"] as const).filter(canConvert)).toEqual([
      "lander",
      "offer",
    ]);
  });

  it('"a conversion for any visitor will also attribute backward to pages/nodes they visited before"', () => {
    const chain: ChainHit[] = [
      { hitId: "o", prevHitId: "l", nodeId: "n-o", pageId: "po", pageKind: "offer", funnelId: "f", at: 3 },
      { hitId: "l", prevHitId: "e", nodeId: "n-l", pageId: "pl", pageKind: "lander", funnelId: "f", at: 2 },
      { hitId: "e", prevHitId: null, nodeId: "n-e", pageId: null, pageKind: "none", funnelId: "f", at: 1 },
    ];
    expect(buildTouches(chain, "o").map((t) => [t.hitId, t.kind])).toEqual([
      ["o", "direct"],
      ["l", "assisted"],
    ]);
  });

  it('"changing your offer to pass our hit to them using the token {hit}"', () => {
    expect(substituteTokens("https://net.example/?o=9&clickid={hit}", { hit: HIT }).url).toBe(
      `https://net.example/?o=9&clickid=${HIT}`,
    );
  });
});

/** The seed's reading of a status word (no offer-source map), as applyConversion makes it. */
function seedStatus(raw: string | null) {
  const classified = classifyStatus(raw);
  if (classified.kind !== "ok") throw new Error(`unknown status ${raw}`);
  return classified.status;
}
