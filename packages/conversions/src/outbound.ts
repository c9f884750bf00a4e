import { type ConversionStatus, substituteTokens, type TrafficSourceNotify } from "@hitrail/core";

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
  return {
    ...hit.trackingFields,
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
