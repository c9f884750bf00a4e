import { substituteTokens } from "../tokens.ts";
import type { ConversionDecision } from "./decide.ts";
import type { ConversionStatus } from "./status.ts";

// The traffic source's side of a conversion: whether it hears about this change, and the URL its
// postback template becomes for it.

/** What the traffic source asked to hear about; null when it has no postback template. */
export interface TrafficSourceNotify {
  onCreate: true;
  onUpdate: boolean;
  onReject: boolean;
}

export interface NotifyInput {
  decision: ConversionDecision;
  disablePostbacks: boolean;
  source: TrafficSourceNotify | null;
  /** False for custom events the user chose not to send to the traffic source. */
  eventFiresPostback?: boolean;
}

/** Whether this decision sends a postback to the traffic source. */
export function shouldNotifyTrafficSource(input: NotifyInput): boolean {
  // Seed: disable_postbacks=true records the conversion "but NOT trigger an event to your traffic source".
  if (input.disablePostbacks || input.source === null || input.eventFiresPostback === false) return false;
  switch (input.decision.action) {
    case "create":
    case "restore":
    case "create_new":
      return input.source.onCreate;
    case "update":
      return input.source.onUpdate;
    case "delete":
      return input.source.onReject;
    case "ignore":
      return false;
  }
}

/** The traffic source's wishes, or null when it has no postback template. */
export function trafficSourceNotify(source: {
  postbackUrl: string | null;
  postbackOnUpdate: boolean | null;
  postbackOnReject: boolean | null;
}): TrafficSourceNotify | null {
  if (source.postbackUrl === null || source.postbackUrl.trim() === "") return null;
  return {
    onCreate: true,
    onUpdate: source.postbackOnUpdate === true,
    onReject: source.postbackOnReject === true,
  };
}

/** The hit fields a traffic-source postback can name. */
export interface OutboundHit {
  hitId: string;
  visitorId: string;
  funnelId: string;
  externalId: string | null;
  cost: string | null;
  trackingFields: Readonly<Record<string, string>>;
}

export interface OutboundChange {
  revenue: string;
  status: ConversionStatus;
  tx: string | null;
  /** "conversion", or the custom event's alias. */
  event: string;
}

/**
 * The macro values of a traffic-source postback template. Tracking fields come first so that a
 * field named like a standard macro (a source calling its zone "payout") cannot change what we report.
 */
export function outboundMacros(
  hit: OutboundHit,
  change: OutboundChange,
  currency: string,
): Record<string, string | null> {
  const macros: Record<string, string | null> = {
    external: hit.externalId,
    payout: change.revenue,
    revenue: change.revenue,
    tx: change.tx,
    hit: hit.hitId,
    vid: hit.visitorId,
    event: change.event,
    status: change.status,
    funnel: hit.funnelId,
    cost: hit.cost,
    currency,
  };
  // The fields added after, skipping the standard names: the same object as spreading the fields
  // first, but `{ ...fields, … }` over a JSON-parsed object took 9-15 µs per postback in V8 (2-3% of
  // the tracker's CPU per postback in the profile), this well under one.
  for (const name of Object.keys(hit.trackingFields)) {
    if (Object.hasOwn(macros, name)) continue;
    // Defined, never assigned: a field named __proto__ must stay a field, as the spread kept it.
    Object.defineProperty(macros, name, {
      value: hit.trackingFields[name] ?? null,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return macros;
}

/** The URL the delivery worker will call, and the macros it could not fill (shown as a warning). */
export function renderOutboundPostback(
  template: string,
  hit: OutboundHit,
  change: OutboundChange,
  currency: string,
): { url: string; unknownMacros: string[] } {
  const { url, unknown } = substituteTokens(template.trim(), outboundMacros(hit, change, currency));
  return { url, unknownMacros: unknown };
}
