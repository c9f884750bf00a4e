import type { ConversionPathHit, StoredConversion } from "@hitrail/db";
import { describe, expect, it } from "vitest";
import { type PlanItem, planBatch } from "../src/plan.ts";
import type { ConversionCommand, ConversionEventRef } from "../src/types.ts";

// The batch planner is pure: what a group-commit transaction read in, what it writes out. These tables
// pin how postbacks of one batch see each other and what each decision writes.

const WS = "00000000-0000-4000-8000-0000000000aa";
const OFFER_HIT = "00000000-0000-7000-8000-000000000003";
const LANDER_HIT = "00000000-0000-7000-8000-000000000002";
const ENTRY_HIT = "00000000-0000-7000-8000-000000000001";
const NOW = Date.UTC(2026, 0, 15, 12);
const CONV = "cccccccc-0000-4000-8000-000000000001";

function pathHit(over: Partial<ConversionPathHit> & Pick<ConversionPathHit, "hitId">): ConversionPathHit {
  return {
    workspaceId: WS,
    rootHitId: OFFER_HIT,
    depth: 0,
    prevHitId: null,
    visitorId: "vvvvvvvv-0000-4000-8000-000000000001",
    funnelId: "ffffffff-0000-4000-8000-000000000001",
    nodeId: `node-${over.hitId}`,
    pageId: "pppppppp-0000-4000-8000-000000000001",
    pageKind: "offer",
    trafficSourceId: "tttttttt-0000-4000-8000-000000000001",
    externalId: "ext",
    campaign: null,
    cost: "0.02",
    trackingFields: { zone: "z1" },
    createdAtMs: NOW - 60_000,
    createdAtText: "2026-01-15 11:59:00+00",
    defaultPayout: "12.500000",
    duplicatePolicy: "update",
    statusMap: null,
    conversionTimeParam: null,
    statusParam: "status",
    trafficSourcePostbackUrl: "https://ts.example/?c={external}&p={payout}",
    postbackOnUpdate: false,
    postbackOnReject: false,
    postbackDelaySeconds: 0,
    ...over,
  };
}

/** The standard path: entry → lander → offer, rooted at the offer hit. */
const offerPath = (over: Partial<ConversionPathHit> = {}): ConversionPathHit[] => [
  pathHit({ hitId: OFFER_HIT, prevHitId: LANDER_HIT, ...over }),
  pathHit({
    hitId: LANDER_HIT,
    depth: 1,
    prevHitId: ENTRY_HIT,
    pageKind: "lander",
    pageId: "pppppppp-0000-4000-8000-00000000000l",
  }),
  pathHit({ hitId: ENTRY_HIT, depth: 2, pageKind: "none", pageId: null }),
];

function item(
  params: Partial<ConversionCommand> & { hitId?: string; visitorId?: string | null } = {},
): PlanItem {
  const { hitId = OFFER_HIT, visitorId = null, ...command } = params;
  return {
    postbackId: `pb-${Math.random().toString(36).slice(2)}`,
    hitId,
    visitorId,
    command: {
      workspace: { workspaceId: WS, currency: "EUR", sessionTtlSeconds: 345_600 },
      channel: "postback",
      target: { by: "hit", hitId },
      tx: null,
      revenue: { kind: "absent" },
      statusWord: null,
      rawStatus: null,
      disablePostbacks: false,
      notes: [],
      meta: { method: "GET", ip: "1.1.1.1", params: {}, receivedAt: NOW },
      ...command,
    },
  };
}

function plan(items: PlanItem[], paths: ConversionPathHit[] = offerPath(), stored: StoredConversion[] = []) {
  let n = 0;
  // Ids are UUIDs, as the rows' columns are.
  return planBatch({
    items,
    paths,
    stored,
    now: NOW,
    newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`,
  });
}

const stored = (over: Partial<StoredConversion> = {}): StoredConversion => ({
  id: CONV,
  workspaceId: WS,
  hitId: OFFER_HIT,
  eventKey: "",
  tx: "",
  seq: 0,
  revenue: "10.000000",
  status: "approved",
  revision: 4,
  deleted: false,
  ...over,
});

const rev = (value: string) => ({ kind: "value" as const, value });
/** status=rejected as sent: the word is classified when the batch is planned. */
const rejected = { rawStatus: "rejected", statusWord: "rejected" };

describe("planBatch: one postback", () => {
  it("creates with the default payout, touches the lander, notifies, logs", () => {
    const p = plan([item({ tx: "T1" })]);
    expect(p.results).toMatchObject([
      { ok: true, outcome: "created", conversion: { revenue: "12.5", revision: 1 } },
    ]);
    expect(p.inserts).toMatchObject([
      {
        hitId: OFFER_HIT,
        tx: "T1",
        seq: 0,
        revenue: "12.5",
        hitAt: "2026-01-15 11:59:00+00",
        deletedAt: null,
      },
    ]);
    // The direct touch is the conversion itself (derived when read): only the assisted one is a row.
    expect(p.touches.map((t) => [t.hitId, t.kind, t.position])).toEqual([[LANDER_HIT, "assisted", 1]]);
    expect(p.deliveries).toMatchObject([
      { url: "https://ts.example/?c=ext&p=12.5", revision: 1, event: "conversion" },
    ]);
    // No outbox row: the delivery is its own outbox entry, and the worker's sweep reads the revision.
    expect(p.outbox).toEqual([]);
    expect(p.logs).toMatchObject([{ outcome: "created", httpStatus: 200, conversionId: p.inserts[0]?.id }]);
  });

  it.each<[string, PlanItem, ConversionPathHit[], number, RegExp]>([
    ["unknown hit", item(), [], 404, /^hit not found/],
    ["hit named by the session but not stored yet", item({ visitorId: "v1" }), [], 503, /not stored yet/],
    [
      "entry hit",
      item({ hitId: ENTRY_HIT }),
      offerPath().map((x) => ({ ...x, rootHitId: ENTRY_HIT, depth: x.hitId === ENTRY_HIT ? 0 : 9 })),
      422,
      /only lander and offer hits convert/,
    ],
    ["external hit", item(), offerPath({ pageKind: "external", pageId: null }), 422, /external URL node/],
    [
      "a sum beyond the per-conversion maximum under policy add",
      item({ revenue: rev("600000") }),
      offerPath({ duplicatePolicy: "add" }),
      400,
      /above the maximum of 1000000 per conversion/,
    ],
  ])("%s → %i, nothing written but the log", (_name, it_, paths, status, error) => {
    const p = plan([it_], paths, [stored({ revenue: "600000" })]);
    expect(p.results).toMatchObject([{ ok: false, httpStatus: status, error: expect.stringMatching(error) }]);
    expect([p.inserts, p.updates, p.revisions, p.touches, p.deliveries, p.outbox]).toEqual([
      [],
      [],
      [],
      [],
      [],
      [],
    ]);
    expect(p.logs).toMatchObject([{ outcome: "rejected", httpStatus: status }]);
  });

  it("a deleted page converts with 0 and says so", () => {
    const p = plan([item()], offerPath({ defaultPayout: null }));
    expect(p.results).toMatchObject([
      { conversion: { revenue: "0" }, notes: [expect.stringMatching(/no longer exists/)] },
    ]);
  });

  it("the offer source's duplicate policy decides repeats: new → another conversion (seq 1)", () => {
    const p = plan([item({ revenue: rev("10") })], offerPath({ duplicatePolicy: "new" }), [stored()]);
    expect(p.inserts).toMatchObject([{ seq: 1, revision: 1 }]);
    expect(p.updates).toEqual([]);
    expect(p.results).toMatchObject([
      { outcome: "created", notes: ["duplicate policy 'new': repeats count as new conversions"] },
    ]);
  });

  it("policy add sums the revenue and says so", () => {
    const p = plan([item({ revenue: rev("5") })], offerPath({ duplicatePolicy: "add" }), [stored()]);
    expect(p.results).toMatchObject([
      { outcome: "updated", notes: ["duplicate policy 'add': repeats add to the revenue"] },
    ]);
  });

  it("policy ignore keeps the first revenue", () => {
    const p = plan([item({ revenue: rev("99") })], offerPath({ duplicatePolicy: "ignore" }), [stored()]);
    expect(p.results).toMatchObject([
      {
        outcome: "ignored",
        reason: "duplicate conversion ignored",
        notes: ["duplicate policy 'ignore': repeats are ignored"],
      },
    ]);
  });

  it("an offer source's status map reclassifies the word sent", () => {
    const p = plan(
      [item({ rawStatus: "DECL", statusWord: "decl" })],
      offerPath({ statusMap: { decl: "rejected" } }),
      [stored()],
    );
    expect(p.results).toMatchObject([{ outcome: "deleted" }]);
  });

  it("a custom event: its own identity, its alias as {event}, and no postback unless it fires one", () => {
    const event: ConversionEventRef = {
      typeId: "eeeeeeee-0000-4000-8000-000000000001",
      alias: "lead",
      defaultRevenue: "2",
      hasRevenue: true,
      firesPostback: true,
      duplicatePolicy: "update",
    };
    const withEvent = plan(
      [item({ event })],
      offerPath({ trafficSourcePostbackUrl: "https://ts.example/?e={event}&p={payout}" }),
      [stored()],
    );
    expect(withEvent.inserts).toMatchObject([
      { eventKey: event.typeId, eventTypeId: event.typeId, revenue: "2" },
    ]);
    expect(withEvent.deliveries).toMatchObject([{ event: "lead", url: "https://ts.example/?e=lead&p=2" }]);
    expect(plan([item({ event: { ...event, firesPostback: false } })]).deliveries).toEqual([]);
  });

  it("disable_postbacks: recorded (its revision is what the rollup sweep reads), not delivered", () => {
    const p = plan([item({ disablePostbacks: true })]);
    expect(p.inserts).toHaveLength(1);
    expect(p.revisions).toHaveLength(1);
    expect(p.deliveries).toEqual([]);
    expect(p.outbox).toEqual([]);
  });

  it("a delayed traffic source: notBefore (when the relay makes its job due) follows postbackDelaySeconds", () => {
    const p = plan([item()], offerPath({ postbackDelaySeconds: 90 }));
    expect(p.deliveries[0]?.notBefore.getTime()).toBe(NOW + 90_000);
  });
});

describe("planBatch: postbacks of one identity in one batch apply in order", () => {
  it.each<[string, PlanItem[], StoredConversion[], string[], object]>([
    [
      "create then update: one insert in its final state",
      [item({ tx: "T", revenue: rev("5") }), item({ tx: "T", revenue: rev("7") })],
      [],
      ["created", "updated"],
      { inserts: [{ revenue: "7", revision: 2, deletedAt: null }], updates: [] },
    ],
    [
      "create then reject: inserted already deleted",
      [item({ tx: "T", revenue: rev("5") }), item({ tx: "T", ...rejected })],
      [],
      ["created", "deleted"],
      { inserts: [{ revenue: "5", status: "rejected", revision: 2, deletedAt: new Date(NOW) }], updates: [] },
    ],
    [
      "stored, then two updates: one update row in the final state",
      [item({ revenue: rev("11") }), item({ revenue: rev("12") })],
      [stored()],
      ["updated", "updated"],
      { inserts: [], updates: [{ id: CONV, revenue: "12", revision: 6, deletedAt: null }] },
    ],
    [
      "stored, rejected, approved again: restored",
      [item(rejected), item({ revenue: rev("3") })],
      [stored()],
      ["deleted", "restored"],
      { inserts: [], updates: [{ revenue: "3", status: "approved", revision: 6, deletedAt: null }] },
    ],
    [
      "identical repeats: one change, then ignored",
      [item({ revenue: rev("5") }), item({ revenue: rev("5") }), item({ revenue: rev("5.0") })],
      [],
      ["created", "ignored", "ignored"],
      { inserts: [{ revenue: "5", revision: 1 }] },
    ],
    [
      "different tx: separate conversions",
      [item({ tx: "A" }), item({ tx: "B" }), item({ tx: "A", revenue: rev("1") })],
      [],
      ["created", "created", "updated"],
      {
        inserts: [
          { tx: "A", revenue: "1", revision: 2 },
          { tx: "B", revision: 1 },
        ],
      },
    ],
  ])("%s", (_name, items, existing, outcomes, rows) => {
    const p = plan(items, offerPath(), existing);
    expect(p.results.map((r) => r.outcome)).toEqual(outcomes);
    expect(p).toMatchObject(rows);
    const changes = outcomes.filter((o) => o !== "ignored").length;
    expect(p.revisions).toHaveLength(changes);
    expect(p.outbox.filter((o) => o.topic === "rollup.conversion")).toEqual([]);
    // Each conversion's revisions chain: numbers follow, each starts where the previous one ended.
    for (const id of new Set(p.revisions.map((r) => r.conversionId))) {
      const mine = p.revisions.filter((r) => r.conversionId === id);
      for (let i = 1; i < mine.length; i++) {
        expect(mine[i]?.revision).toBe((mine[i - 1]?.revision ?? 0) + 1);
        expect(mine[i]?.previousRevenue).toBe(mine[i - 1]?.revenue);
      }
    }
  });
});

describe("planBatch for a conversion import", () => {
  it("leaves out the postback-log rows, nothing else", () => {
    let n = 0;
    const items = [item({ tx: "A", revenue: rev("10") }), item({ tx: "A", revenue: rev("12") })];
    const full = plan(items);
    const imported = planBatch({
      items,
      paths: offerPath(),
      stored: [],
      now: NOW,
      newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`,
      logs: false,
    });
    expect(full.logs.length).toBe(2);
    expect(imported.logs).toEqual([]);
    // The same decisions and rows otherwise: one conversion created then updated, two revisions.
    expect(imported.results.map((r) => r.outcome)).toEqual(full.results.map((r) => r.outcome));
    expect(imported.inserts.map((c) => [c.tx, c.revenue, c.revision])).toEqual([["A", "12", 2]]);
    expect(imported.revisions.map((r) => [r.action, r.revenue])).toEqual(
      full.revisions.map((r) => [r.action, r.revenue]),
    );
    expect(imported.touches.length).toBe(full.touches.length);
    expect(imported.outbox).toEqual(full.outbox);
  });
});
