import { describe, expect, it } from "vitest";
import { type DeliveryState, decideFire, NOTHING_TO_RETRACT, REJECTED_BEFORE_FIRE } from "../../src/index.ts";

const NOW = Date.UTC(2026, 4, 17, 12);

const delivery = (over: Partial<DeliveryState> = {}): DeliveryState => ({
  revision: 1,
  status: "pending",
  attempts: 0,
  notBeforeMs: null,
  conversion: { revision: 1, deleted: false },
  newerRevision: null,
  earlierAttempted: false,
  sourceDisabled: false,
  ...over,
});

describe("decideFire: the fire-time rule (docs/postback-delivery.md)", () => {
  it.each([
    ["a fresh delivery", {}, { action: "send" }],
    [
      "its endpoint is disabled: paused, not sent and no attempt spent",
      { sourceDisabled: true, attempts: 3, status: "failed" as const },
      {
        action: "pause",
        reason: "the traffic source's postback endpoint is disabled; enabling it sends this",
      },
    ],
    [
      "a finished one stays finished even when its endpoint is disabled",
      { sourceDisabled: true, status: "delivered" as const },
      { action: "skip", reason: "delivery already delivered" },
    ],
    [
      "a scheduled retry that is due",
      { status: "failed", attempts: 2, notBeforeMs: NOW - 5 },
      { action: "send" },
    ],
    [
      "a finished delivery",
      { status: "delivered" },
      { action: "skip", reason: "delivery already delivered" },
    ],
    [
      "a cancelled delivery",
      { status: "cancelled" },
      { action: "skip", reason: "delivery already cancelled" },
    ],
    [
      "a delayed delivery that is not due",
      { notBeforeMs: NOW + 60_000 },
      { action: "wait", untilMs: NOW + 60_000, reason: "not due yet" },
    ],
    [
      "an attempt another job is sending",
      { attempts: 1, notBeforeMs: NOW + 10_000 },
      { action: "wait", untilMs: NOW + 10_000, reason: "another job is sending this delivery" },
    ],
    ["a due time within clock tolerance", { notBeforeMs: NOW + 500 }, { action: "send" }],
    [
      "a conversion rejected since",
      { conversion: { revision: 2, deleted: true } },
      { action: "cancel", reason: REJECTED_BEFORE_FIRE },
    ],
    [
      "a conversion rejected since, whose rejection has its own postback",
      { conversion: { revision: 2, deleted: true }, newerRevision: 2 },
      { action: "cancel", reason: REJECTED_BEFORE_FIRE },
    ],
    [
      "a conversion updated since, with its own postback",
      { conversion: { revision: 3, deleted: false }, newerRevision: 3 },
      { action: "cancel", reason: "superseded by the postback for revision 3" },
    ],
    [
      "a conversion updated since, for a source that takes no updates",
      { conversion: { revision: 2, deleted: false } },
      { action: "send" },
    ],
    [
      "the rejection postback of a conversion the source never heard of",
      { revision: 2, conversion: { revision: 2, deleted: true } },
      { action: "cancel", reason: NOTHING_TO_RETRACT },
    ],
    [
      "the rejection postback of a conversion the source was sent",
      { revision: 2, conversion: { revision: 2, deleted: true }, earlierAttempted: true },
      { action: "send" },
    ],
    [
      "a conversion that no longer exists",
      { conversion: null },
      { action: "cancel", reason: "the conversion no longer exists" },
    ],
  ] as const)("%s", (_label, over, expected) => {
    expect(decideFire(delivery(over as Partial<DeliveryState>), NOW)).toEqual(expected);
  });
});
