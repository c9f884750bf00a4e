/**
 * A delivery as its job finds it when it starts: the row written for one conversion revision, what
 * the conversion has become since, and what else was written for it.
 */
export interface DeliveryState {
  status: "pending" | "failed" | "paused" | "delivered" | "dead" | "cancelled";
  /** The conversion revision this delivery announces. */
  revision: number;
  /** Attempts started so far. */
  attempts: number;
  /** Epoch ms before which no attempt may start (a delay, a scheduled retry, or an attempt in flight). */
  notBeforeMs: number | null;
  /** The conversion as it is now; null when the row no longer exists. */
  conversion: { revision: number; deleted: boolean } | null;
  /** Highest revision of a later delivery of the same conversion to the same traffic source. */
  newerRevision: number | null;
  /** Whether a delivery of an earlier revision to the same traffic source ever started an attempt. */
  earlierAttempted: boolean;
  /** The traffic source's endpoint is disabled (failing too long). */
  sourceDisabled: boolean;
}

/** What to do with a delivery whose job just started. */
export type FireDecision =
  | { action: "send" }
  /** Nothing to do (already finished, or another job owns the attempt). */
  | { action: "skip"; reason: string }
  /** Come back at `untilMs` without using an attempt (a delay not yet over, an attempt in flight). */
  | { action: "wait"; untilMs: number; reason: string }
  /** Close the delivery without sending; `reason` goes to the delivery log. */
  | { action: "cancel"; reason: string }
  /** Hold it, unsent and unspent, until its endpoint is enabled again. */
  | { action: "pause"; reason: string };

export const REJECTED_BEFORE_FIRE = "conversion rejected before the delayed postback fired";
export const NOTHING_TO_RETRACT =
  "the traffic source was never sent this conversion, so there is no rejection to send";

/** Clock difference between worker hosts we tolerate before treating `notBefore` as in the future. */
export const CLOCK_TOLERANCE_MS = 1_000;

/**
 * The fire-time rule (docs/postback-delivery.md). The write path (apply.ts) wrote the delivery for one conversion
 * revision; by the time it fires (a per-source delay, or a retry hours later) the conversion may
 * have moved on:
 *  - newer revision and the conversion is now deleted → cancel: never announce a rejected conversion;
 *  - newer revision with its own delivery to this source → cancel as superseded: that one carries
 *    the current state;
 *  - newer revision without its own delivery (the source takes no updates) → send this row's URL:
 *    what the source asked to hear about, exactly as without a delay (the tracker may have rewritten
 *    the URL of a not-yet-attempted delivery; whatever the row says now is sent);
 *  - this revision is the rejection itself, but no earlier delivery to this source ever started an
 *    attempt → cancel: there is nothing to retract.
 */
export function decideFire(d: DeliveryState, nowMs: number): FireDecision {
  if (d.status === "delivered" || d.status === "dead" || d.status === "cancelled") {
    return { action: "skip", reason: `delivery already ${d.status}` };
  }
  const conversion = d.conversion;
  if (conversion === null) return { action: "cancel", reason: "the conversion no longer exists" };
  if (d.sourceDisabled) {
    return {
      action: "pause",
      reason: "the traffic source's postback endpoint is disabled; enabling it sends this",
    };
  }
  if (conversion.revision > d.revision) {
    if (conversion.deleted) return { action: "cancel", reason: REJECTED_BEFORE_FIRE };
    if (d.newerRevision !== null) {
      return { action: "cancel", reason: `superseded by the postback for revision ${d.newerRevision}` };
    }
  } else if (conversion.deleted && !d.earlierAttempted) {
    return { action: "cancel", reason: NOTHING_TO_RETRACT };
  }
  if (d.notBeforeMs !== null && d.notBeforeMs > nowMs + CLOCK_TOLERANCE_MS) {
    const inFlight = d.status === "pending" && d.attempts > 0;
    return {
      action: "wait",
      untilMs: d.notBeforeMs,
      reason: inFlight ? "another job is sending this delivery" : "not due yet",
    };
  }
  return { action: "send" };
}
