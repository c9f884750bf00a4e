import {
  addMoney,
  isRejectedRevenue,
  moneyEquals,
  normalizeMoney,
  PENDING_REVENUE,
  type Revenue,
} from "../money.ts";
import type { ConversionStatus } from "./status.ts";

/** The conversion already stored for the identity (workspace, hit, event, tx), deleted ones included. */
export interface ExistingConversion {
  id: string;
  revenue: string;
  status: ConversionStatus;
  /** Deleted by a rejection; kept for the audit trail and brought back by a later approval. */
  deleted: boolean;
  revision: number;
}

/**
 * What a repeat for the same identity does. "update" is the seed's behaviour ("the same (hit, tx)
 * again updates that conversion"); "ignore" keeps the first revenue (status changes still apply);
 * "add" sums approved revenue (rebills); "new" records every postback as its own conversion.
 */
export const DUPLICATE_POLICIES = ["update", "ignore", "add", "new"] as const;
export type DuplicatePolicy = (typeof DUPLICATE_POLICIES)[number];

export const DEFAULT_DUPLICATE_POLICY: DuplicatePolicy = "update";

export type ConversionDecision =
  | { action: "create"; revenue: string; status: ConversionStatus }
  | {
      action: "update";
      revenue: string;
      status: ConversionStatus;
      previousRevenue: string;
      policy: DuplicatePolicy;
    }
  | { action: "restore"; revenue: string; status: ConversionStatus }
  | { action: "delete"; previousRevenue: string }
  | { action: "ignore"; reason: string; policy?: DuplicatePolicy }
  | { action: "create_new"; revenue: string; status: ConversionStatus };

export interface ConversionInput {
  existing: ExistingConversion | null;
  status: ConversionStatus;
  revenue: Revenue;
  /** The offer's default payout, used when an approved conversion comes without `rev`. */
  defaultPayout: string;
  policy?: DuplicatePolicy;
}

/**
 * Revenue a conversion gets from its status. Seed: pending, hold or preapproved "will adjust revenue
 * to 0.01"; "if none passed, we will use the default payout defined in the offer's configuration".
 */
export function revenueFor(
  status: Exclude<ConversionStatus, "rejected">,
  revenue: Revenue,
  defaultPayout: string,
): string {
  if (status === "pending") return PENDING_REVENUE;
  return normalizeMoney(revenue.kind === "value" ? revenue.value : defaultPayout);
}

/** Decides what one conversion postback, tag call or funnel action does to the stored conversion. */
export function decideConversion(input: ConversionInput): ConversionDecision {
  const { existing, status } = input;
  const policy = input.policy ?? DEFAULT_DUPLICATE_POLICY;
  const live = existing !== null && !existing.deleted ? existing : null;

  // Seed: rejected "will delete the existing conversion (if any), or create none", whatever the policy.
  // The revenue it sets, -1, is the same marker when a network sends it as `rev`.
  if (status === "rejected" || isRejectedRevenue(input.revenue)) {
    if (live !== null) return { action: "delete", previousRevenue: normalizeMoney(live.revenue) };
    const reason =
      existing === null ? "rejected: no conversion to delete" : "rejected: conversion already deleted";
    return { action: "ignore", reason };
  }

  const incoming = revenueFor(status, input.revenue, input.defaultPayout);
  if (existing === null) return { action: "create", revenue: incoming, status };
  if (policy === "new") return { action: "create_new", revenue: incoming, status };
  if (live === null) return { action: "restore", revenue: incoming, status };

  const previousRevenue = normalizeMoney(live.revenue);
  if (policy === "ignore" && status === live.status) {
    return { action: "ignore", reason: "duplicate conversion ignored", policy };
  }
  // Summing only makes sense between two real amounts; a pending placeholder is replaced, not added to.
  const revenue =
    policy === "add" && status === "approved" && live.status === "approved"
      ? addMoney(previousRevenue, incoming)
      : incoming;
  if (status === live.status && moneyEquals(revenue, previousRevenue)) {
    return { action: "ignore", reason: "no change", policy };
  }
  return { action: "update", revenue, status, previousRevenue, policy };
}

/**
 * The revision the conversion has after the decision; outbound postbacks are deduplicated per
 * revision, so every change that may notify gets a new one.
 */
export function revisionAfter(decision: ConversionDecision, existing: ExistingConversion | null): number {
  switch (decision.action) {
    case "create":
    case "create_new":
      return 1;
    case "update":
    case "restore":
    case "delete":
      return (existing?.revision ?? 0) + 1;
    case "ignore":
      return existing?.revision ?? 0;
  }
}
