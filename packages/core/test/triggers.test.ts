import { describe, expect, it } from "vitest";
import { actionTriggerTx, planActionTriggers } from "../src/triggers.ts";

const absent = { kind: "absent" } as const;
const value = (v: string) => ({ kind: "value", value: v }) as const;

describe("planActionTriggers", () => {
  const cases = [
    { name: "no triggers fire nothing", n: 1, triggers: {}, fires: [], skipped: [] },
    {
      name: "a conversion without revenue uses the page's default payout",
      n: 1,
      triggers: { conversion: {} },
      fires: [
        { kind: "conversion", eventTypeId: null, tx: "action-1", revenue: absent, duplicatePolicy: "ignore" },
      ],
      skipped: [],
    },
    {
      name: "a fixed conversion revenue is normalized",
      n: 2,
      triggers: { conversion: { revenue: "3,5" } },
      fires: [
        {
          kind: "conversion",
          eventTypeId: null,
          tx: "action-2",
          revenue: value("3.5"),
          duplicatePolicy: "ignore",
        },
      ],
      skipped: [],
    },
    {
      name: "a null conversion is no trigger",
      n: 1,
      triggers: { conversion: null },
      fires: [],
      skipped: [],
    },
    {
      name: "events fire after the conversion, each once, on the same action tx",
      n: 3,
      triggers: {
        conversion: { revenue: null },
        events: [
          { eventTypeId: "ev-lead" },
          { eventTypeId: "ev-cart", revenue: "1" },
          { eventTypeId: "ev-lead" },
        ],
      },
      fires: [
        { kind: "conversion", eventTypeId: null, tx: "action-3", revenue: absent, duplicatePolicy: "ignore" },
        { kind: "event", eventTypeId: "ev-lead", tx: "action-3", revenue: absent, duplicatePolicy: "ignore" },
        {
          kind: "event",
          eventTypeId: "ev-cart",
          tx: "action-3",
          revenue: value("1"),
          duplicatePolicy: "ignore",
        },
      ],
      skipped: [],
    },
    {
      name: "a stored revenue that no longer parses is skipped with a reason, the rest still fire",
      n: 4,
      triggers: { conversion: { revenue: "ten" }, events: [{ eventTypeId: " " }, { eventTypeId: "ev" }] },
      fires: [
        { kind: "event", eventTypeId: "ev", tx: "action-4", revenue: absent, duplicatePolicy: "ignore" },
      ],
      skipped: [
        "action 4 conversion: rev 'ten' is not a number",
        "action 4: an event trigger names no event",
      ],
    },
  ] as const;

  for (const c of cases) {
    it(c.name, () => {
      const plan = planActionTriggers(c.n, c.triggers as Parameters<typeof planActionTriggers>[1]);
      expect(plan.fires).toEqual(c.fires);
      expect(plan.skipped.map((s) => s.replace(/"/g, "'"))).toEqual(c.skipped);
    });
  }

  it("gives every action its own transaction ID", () => {
    expect(actionTriggerTx(1)).not.toBe(actionTriggerTx(2));
  });
});
