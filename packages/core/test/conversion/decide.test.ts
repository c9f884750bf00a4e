import { describe, expect, it } from "vitest";
import {
  type ConversionDecision,
  type ConversionInput,
  type ConversionStatus,
  conversionIdentity,
  decideConversion,
  type ExistingConversion,
  type NotifyInput,
  type Revenue,
  revisionAfter,
  shouldNotifyTrafficSource,
} from "../../src/index.ts";

const absent: Revenue = { kind: "absent" };
const rev = (value: string): Revenue => ({ kind: "value", value });
const existing = (
  revenue: string,
  status: ConversionStatus = "approved",
  deleted = false,
): ExistingConversion => ({
  id: "c1",
  revenue,
  status,
  deleted,
  revision: 3,
});

describe("decideConversion", () => {
  it.each<[string, Omit<ConversionInput, "defaultPayout">, ConversionDecision]>([
    // No rev: the offer's default payout.
    ["new, no rev", { existing: null, status: "approved", revenue: absent }, create("30")],
    ["new, rev", { existing: null, status: "approved", revenue: rev("12.5") }, create("12.5")],
    ["new, rev 0", { existing: null, status: "approved", revenue: rev("0") }, create("0")],
    ["new, negative rev", { existing: null, status: "approved", revenue: rev("-5") }, create("-5")],
    // Pending, hold, preapproved: revenue 0.01 whatever rev says.
    [
      "new pending, rev",
      { existing: null, status: "pending", revenue: rev("40") },
      create("0.01", "pending"),
    ],
    [
      "new pending, no rev",
      { existing: null, status: "pending", revenue: absent },
      create("0.01", "pending"),
    ],
    // Rejected: delete the existing conversion, or create none.
    [
      "rejected, nothing stored",
      { existing: null, status: "rejected", revenue: rev("40") },
      { action: "ignore", reason: "rejected: no conversion to delete" },
    ],
    [
      "rejected, live conversion",
      { existing: existing("40.000000"), status: "rejected", revenue: absent },
      { action: "delete", previousRevenue: "40" },
    ],
    [
      "rejected, pending conversion",
      { existing: existing("0.01", "pending"), status: "rejected", revenue: absent },
      { action: "delete", previousRevenue: "0.01" },
    ],
    [
      "rejected, already deleted",
      { existing: existing("40", "approved", true), status: "rejected", revenue: absent },
      { action: "ignore", reason: "rejected: conversion already deleted" },
    ],
    [
      "rejected under policy ignore still deletes",
      { existing: existing("40"), status: "rejected", revenue: absent, policy: "ignore" },
      { action: "delete", previousRevenue: "40" },
    ],
    // The same (hit, tx) again updates that conversion (delayed revenue).
    [
      "repeat with new revenue",
      { existing: existing("10"), status: "approved", revenue: rev("12.5") },
      update("12.5", "approved", "10"),
    ],
    [
      "repeat without rev goes back to the default payout",
      { existing: existing("10"), status: "approved", revenue: absent },
      update("30", "approved", "10"),
    ],
    [
      "identical repeat never doubles",
      { existing: existing("12.500000"), status: "approved", revenue: rev("12.50") },
      { action: "ignore", reason: "no change", policy: "update" },
    ],
    [
      "pending then approved",
      { existing: existing("0.01", "pending"), status: "approved", revenue: rev("40") },
      update("40", "approved", "0.01"),
    ],
    [
      "pending then approved without rev",
      { existing: existing("0.01", "pending"), status: "approved", revenue: absent },
      update("30", "approved", "0.01"),
    ],
    [
      "pending repeated",
      { existing: existing("0.01", "pending"), status: "pending", revenue: rev("40") },
      { action: "ignore", reason: "no change", policy: "update" },
    ],
    [
      "approved then pending (the seed lets status move either way)",
      { existing: existing("40"), status: "pending", revenue: absent },
      update("0.01", "pending", "40"),
    ],
    // A conversion deleted by a rejection comes back.
    [
      "approved after a rejection",
      { existing: existing("40", "approved", true), status: "approved", revenue: rev("35") },
      { action: "restore", revenue: "35", status: "approved" },
    ],
    [
      "pending after a rejection",
      { existing: existing("40", "approved", true), status: "pending", revenue: rev("35") },
      { action: "restore", revenue: "0.01", status: "pending" },
    ],
    [
      "restore ignores policy add (nothing live to add to)",
      { existing: existing("40", "approved", true), status: "approved", revenue: rev("5"), policy: "add" },
      { action: "restore", revenue: "5", status: "approved" },
    ],
    // Policy ignore: the first revenue stays; status changes still apply.
    [
      "ignore: revenue change",
      { existing: existing("10"), status: "approved", revenue: rev("12"), policy: "ignore" },
      { action: "ignore", reason: "duplicate conversion ignored", policy: "ignore" },
    ],
    [
      "ignore: pending → approved still applies",
      { existing: existing("0.01", "pending"), status: "approved", revenue: rev("12"), policy: "ignore" },
      update("12", "approved", "0.01", "ignore"),
    ],
    [
      "ignore: new conversion",
      { existing: null, status: "approved", revenue: rev("12"), policy: "ignore" },
      create("12"),
    ],
    // Policy add: rebills sum.
    [
      "add: approved + approved",
      { existing: existing("10.1"), status: "approved", revenue: rev("0.2"), policy: "add" },
      update("10.3", "approved", "10.1", "add"),
    ],
    [
      "add: default payout is added",
      { existing: existing("30"), status: "approved", revenue: absent, policy: "add" },
      update("60", "approved", "30", "add"),
    ],
    [
      "add: a refund amount subtracts",
      { existing: existing("30"), status: "approved", revenue: rev("-10"), policy: "add" },
      update("20", "approved", "30", "add"),
    ],
    [
      "add: zero is no change",
      { existing: existing("30"), status: "approved", revenue: rev("0"), policy: "add" },
      { action: "ignore", reason: "no change", policy: "add" },
    ],
    [
      "add: the pending placeholder is replaced, not added to",
      { existing: existing("0.01", "pending"), status: "approved", revenue: rev("40"), policy: "add" },
      update("40", "approved", "0.01", "add"),
    ],
    [
      "add: pending on approved is a status change",
      { existing: existing("40"), status: "pending", revenue: absent, policy: "add" },
      update("0.01", "pending", "40", "add"),
    ],
    // Policy new: every postback is a separate conversion.
    [
      "new: repeat",
      { existing: existing("10"), status: "approved", revenue: rev("10"), policy: "new" },
      { action: "create_new", revenue: "10", status: "approved" },
    ],
    [
      "new: after a deletion",
      { existing: existing("10", "approved", true), status: "pending", revenue: absent, policy: "new" },
      { action: "create_new", revenue: "0.01", status: "pending" },
    ],
    ["new: first", { existing: null, status: "approved", revenue: absent, policy: "new" }, create("30")],
    [
      "new: rejection deletes",
      { existing: existing("10"), status: "rejected", revenue: absent, policy: "new" },
      { action: "delete", previousRevenue: "10" },
    ],
  ])("%s", (_name, input, decision) => {
    expect(decideConversion({ defaultPayout: "30.000000", ...input })).toEqual(decision);
  });
});

function create(revenue: string, status: ConversionStatus = "approved"): ConversionDecision {
  return { action: "create", revenue, status };
}

function update(
  revenue: string,
  status: ConversionStatus,
  previousRevenue: string,
  policy: "update" | "ignore" | "add" = "update",
): ConversionDecision {
  return { action: "update", revenue, status, previousRevenue, policy };
}

describe("conversionIdentity", () => {
  const hit = "0191d6b4-8a0c-7cc3-9a0e-4f7d2b1c3e5a";

  it("is the same for the same (hit, event, tx) and different otherwise", () => {
    expect(conversionIdentity(hit, null, "T1").key).toBe(
      conversionIdentity(hit.toUpperCase(), null, "T1").key,
    );
    const keys = [
      conversionIdentity(hit, null, null),
      conversionIdentity(hit, null, "T1"),
      conversionIdentity(hit, null, "T2"),
      conversionIdentity(hit, null, "-"),
      conversionIdentity(hit, null, ""),
      conversionIdentity(hit, "lead", null),
      conversionIdentity(hit, "lead", "T1"),
      conversionIdentity(hit, "lead/=T1", null),
    ].map((i) => i.key);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("names the plain conversion event", () => {
    expect(conversionIdentity(hit, null, null)).toMatchObject({
      hitId: hit,
      eventKey: "conversion",
      tx: null,
    });
  });
});

describe("revisionAfter", () => {
  const prior = existing("10");
  it.each<[ConversionDecision, ExistingConversion | null, number]>([
    [create("1"), null, 1],
    [{ action: "create_new", revenue: "1", status: "approved" }, prior, 1],
    [update("2", "approved", "10"), prior, 4],
    [{ action: "restore", revenue: "2", status: "approved" }, prior, 4],
    [{ action: "delete", previousRevenue: "10" }, prior, 4],
    [{ action: "ignore", reason: "no change" }, prior, 3],
    [{ action: "ignore", reason: "rejected: no conversion to delete" }, null, 0],
  ])("%j → %i", (decision, before, revision) => {
    expect(revisionAfter(decision, before)).toBe(revision);
  });
});

describe("shouldNotifyTrafficSource", () => {
  const all = { onCreate: true, onUpdate: true, onReject: true } as const;
  const createOnly = { onCreate: true, onUpdate: false, onReject: false } as const;
  const created = create("1");
  const updated = update("2", "approved", "1");
  const deleted: ConversionDecision = { action: "delete", previousRevenue: "1" };
  const ignored: ConversionDecision = { action: "ignore", reason: "no change" };

  it.each<[string, NotifyInput, boolean]>([
    ["create", { decision: created, disablePostbacks: false, source: createOnly }, true],
    [
      "restore",
      {
        decision: { action: "restore", revenue: "1", status: "approved" },
        disablePostbacks: false,
        source: createOnly,
      },
      true,
    ],
    [
      "create_new",
      {
        decision: { action: "create_new", revenue: "1", status: "approved" },
        disablePostbacks: false,
        source: createOnly,
      },
      true,
    ],
    ["update, source wants updates", { decision: updated, disablePostbacks: false, source: all }, true],
    ["update, source does not", { decision: updated, disablePostbacks: false, source: createOnly }, false],
    ["delete, source wants cancellations", { decision: deleted, disablePostbacks: false, source: all }, true],
    ["delete, source does not", { decision: deleted, disablePostbacks: false, source: createOnly }, false],
    ["ignore", { decision: ignored, disablePostbacks: false, source: all }, false],
    ["disable_postbacks=true on create", { decision: created, disablePostbacks: true, source: all }, false],
    ["disable_postbacks=true on update", { decision: updated, disablePostbacks: true, source: all }, false],
    ["disable_postbacks=true on delete", { decision: deleted, disablePostbacks: true, source: all }, false],
    ["no traffic source or template", { decision: created, disablePostbacks: false, source: null }, false],
    [
      "event that does not fire",
      { decision: created, disablePostbacks: false, source: all, eventFiresPostback: false },
      false,
    ],
    [
      "event that fires",
      { decision: created, disablePostbacks: false, source: all, eventFiresPostback: true },
      true,
    ],
  ])("%s → %s", (_name, input, fire) => {
    expect(shouldNotifyTrafficSource(input)).toBe(fire);
  });
});
