import { describe, expect, it } from "vitest";
import type { ActionTriggers } from "../src/funnel/index.ts";
import { decideConversion, type ExistingConversion } from "../src/index.ts";
import {
  type ActionTaken,
  actionTriggerTx,
  onceTriggerHit,
  planActionTriggers,
  type TriggerFire,
} from "../src/triggers.ts";
import type { SessionHitRef } from "../src/visitor.ts";

// Seed: "One additional way to trigger custom events is via the funnel builder directly, using our
// 'on action' feature … you can choose to trigger specific custom events or conversions."
// Our rule (docs/conversions.md): a trigger converts once per visitor session and action — a repeat
// updates, never doubles, like a postback without tx — unless the trigger says "every time".

const absent = { kind: "absent" } as const;
const value = (v: string) => ({ kind: "value", value: v }) as const;

const ref = (hitId: string, nodeId: string, at: number, funnelId = "f1"): SessionHitRef => ({
  hitId,
  nodeId,
  pageId: `page-${nodeId}`,
  pageKind: nodeId.startsWith("offer") ? "offer" : "lander",
  funnelId,
  at,
});

// The journey: entered on the lander (L1), went on to the offer, came back with the back button,
// which reloaded the lander (L2), and clicks action 1 from it again.
const JOURNEY = [ref("L1", "lander", 1), ref("O1", "offer", 2), ref("L2", "lander", 3)];
const taken = (o: Partial<ActionTaken> & { triggers: ActionTriggers }): ActionTaken => ({
  actionNumber: 1,
  origin: { hitId: "L2", funnelId: "f1", nodeId: "lander" },
  sessionHits: JOURNEY,
  clickHitId: "C9",
  ...o,
});
const fire = (f: Partial<TriggerFire>): TriggerFire => ({
  kind: "conversion",
  eventTypeId: null,
  repeat: "once",
  hitId: "L1",
  tx: "action-1",
  revenue: absent,
  duplicatePolicy: "update",
  notes: ["once per visitor session: recorded on the session's first view of this page (hit L1)"],
  ...f,
});

describe('"For any action coming out of a page … trigger specific custom events or conversions": once per visitor session and action', () => {
  it.each<[string, ActionTaken["origin"], readonly SessionHitRef[], string]>([
    [
      "the first click from the first view lands on that view",
      { hitId: "L1", funnelId: "f1", nodeId: "lander" },
      JOURNEY.slice(0, 1),
      "L1",
    ],
    [
      "a back-button reload (a new lander hit) finds the first view again",
      { hitId: "L2", funnelId: "f1", nodeId: "lander" },
      JOURNEY,
      "L1",
    ],
    [
      "a page of another node is its own place",
      { hitId: "O1", funnelId: "f1", nodeId: "offer" },
      JOURNEY,
      "O1",
    ],
    [
      "the same node id in another funnel is another page",
      { hitId: "X1", funnelId: "f2", nodeId: "lander" },
      JOURNEY,
      "X1",
    ],
    [
      "no live session (expired, or a link followed from the hits table): the hit clicked on",
      { hitId: "L2", funnelId: "f1", nodeId: "lander" },
      [],
      "L2",
    ],
  ])("%s", (_name, origin, hits, expected) => {
    expect(onceTriggerHit(origin, hits)).toBe(expected);
  });

  it.each<[string, ActionTaken, TriggerFire[], string[]]>([
    ["no triggers fire nothing", taken({ triggers: {} }), [], []],
    ["a null conversion is no trigger", taken({ triggers: { conversion: null } }), [], []],
    [
      "a conversion without revenue uses the page's default payout, on the session's first view",
      taken({ triggers: { conversion: {} } }),
      [fire({})],
      [],
    ],
    [
      "from the first view itself there is nothing to note",
      taken({
        triggers: { conversion: { revenue: "3,5" } },
        origin: { hitId: "L1", funnelId: "f1", nodeId: "lander" },
        actionNumber: 2,
      }),
      [fire({ tx: "action-2", revenue: value("3.5"), notes: [] })],
      [],
    ],
    [
      '"every time": on the hit clicked on, under the click\'s own tx, so each click counts',
      taken({ triggers: { conversion: { revenue: "1", everyTime: true } } }),
      [fire({ repeat: "every", hitId: "L2", tx: "action-1/C9", revenue: value("1"), notes: [] })],
      [],
    ],
    [
      "events fire after the conversion, each once, each with its own switch",
      taken({
        actionNumber: 3,
        triggers: {
          conversion: { revenue: null },
          events: [
            { eventTypeId: "ev-lead" },
            { eventTypeId: "ev-click", revenue: "1", everyTime: true },
            { eventTypeId: "ev-lead", everyTime: true },
          ],
        },
      }),
      [
        fire({ tx: "action-3" }),
        fire({ kind: "event", eventTypeId: "ev-lead", tx: "action-3" }),
        fire({
          kind: "event",
          eventTypeId: "ev-click",
          repeat: "every",
          hitId: "L2",
          tx: "action-3/C9",
          revenue: value("1"),
          notes: [],
        }),
      ],
      [],
    ],
    [
      "rev=-1 on a trigger fires with -1 (the delete marker; applyConversion says so in the log)",
      taken({
        triggers: { conversion: { revenue: "-1" } },
        origin: { hitId: "L1", funnelId: "f1", nodeId: "lander" },
      }),
      [fire({ revenue: value("-1"), notes: [] })],
      [],
    ],
    [
      "a stored revenue that no longer parses is skipped with a reason, the rest still fire",
      taken({
        actionNumber: 4,
        triggers: { conversion: { revenue: "ten" }, events: [{ eventTypeId: " " }, { eventTypeId: "ev" }] },
      }),
      [fire({ kind: "event", eventTypeId: "ev", tx: "action-4" })],
      ["action 4 conversion: rev 'ten' is not a number", "action 4: an event trigger names no event"],
    ],
  ])("%s", (_name, input, fires, skipped) => {
    const plan = planActionTriggers(input);
    expect(plan.fires).toEqual(fires);
    expect(plan.skipped.map((s) => s.replace(/"/g, "'"))).toEqual(skipped);
  });

  it("gives every action its own transaction ID", () => {
    expect(actionTriggerTx(1)).not.toBe(actionTriggerTx(2));
  });
});

describe('a repeat "updates, never doubles, like a postback without tx"', () => {
  const stored = (o: Partial<ExistingConversion> = {}): ExistingConversion => ({
    id: "c1",
    revenue: "2",
    status: "approved",
    deleted: false,
    revision: 1,
    ...o,
  });
  // The same trigger, the first time and again after a back-button reload: same hit and tx, so the
  // writer finds the stored conversion and core decides with the trigger's policy.
  const decide = (triggers: ActionTriggers, existing: ExistingConversion | null) => {
    const [f] = planActionTriggers(taken({ triggers })).fires;
    if (f === undefined) throw new Error("no fire");
    return decideConversion({
      existing,
      status: "approved",
      revenue: f.revenue,
      defaultPayout: "0",
      policy: f.duplicatePolicy,
    }).action;
  };
  it.each<[string, ActionTriggers, ExistingConversion | null, string]>([
    ["the first click creates", { conversion: { revenue: "2" } }, null, "create"],
    ["the same click again changes nothing", { conversion: { revenue: "2" } }, stored(), "ignore"],
    [
      "again after the trigger's revenue was edited: updated, not doubled",
      { conversion: { revenue: "5" } },
      stored(),
      "update",
    ],
    ["rev=-1 deletes the one conversion", { conversion: { revenue: "-1" } }, stored(), "delete"],
    [
      "after a deletion, a trigger with revenue brings it back",
      { conversion: { revenue: "2" } },
      stored({ deleted: true }),
      "restore",
    ],
  ])("%s", (_name, triggers, existing, action) => {
    expect(decide(triggers, existing)).toBe(action);
  });
});
