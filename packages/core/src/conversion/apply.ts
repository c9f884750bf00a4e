import { conversionRevenueProblem, isRejectedRevenue, REJECTED_REVENUE, type Revenue } from "../money.ts";
import { urlTemplateProblem } from "../url-template.ts";
import { canConvert, type PageKind } from "../visitor.ts";
import {
  type ConversionDecision,
  DEFAULT_DUPLICATE_POLICY,
  type DuplicatePolicy,
  decideConversion,
  type ExistingConversion,
  revisionAfter,
} from "./decide.ts";
import { renderOutboundPostback, shouldNotifyTrafficSource, trafficSourceNotify } from "./outbound.ts";
import { type ConversionStatus, classifyStatus } from "./status.ts";
import { decideConversionTime, parseConversionTime } from "./time.ts";

// One postback, tag call, funnel action or import row applied to the conversion its identity names:
// every decision of the write path in the order it is taken. The caller has read the converting hit
// (with its page, offer source and traffic source) and the identity's conversion as it stands; it
// turns what comes back into rows.

/**
 * A custom event instead of the conversion itself (`e=alias` postbacks, `flux.track("lead")`,
 * action triggers).
 */
export interface ConversionEvent {
  typeId: string;
  alias: string;
  /** Used when no revenue is sent; null means the converting page's default payout. */
  defaultRevenue: string | null;
  /** A type without revenue only counts: whatever revenue arrives, it records 0. */
  hasRevenue: boolean;
  firesPostback: boolean;
  duplicatePolicy: DuplicatePolicy;
}

/**
 * A custom event type as the rules take it. Its own default revenue, never the page's payout (a
 * "lead" is not worth the offer's payout); a type without revenue records 0.
 */
export function conversionEventOf(type: {
  id: string;
  alias: string;
  defaultRevenue: string | null;
  hasRevenue: boolean;
  firesPostback: boolean;
  duplicatePolicy: DuplicatePolicy;
}): ConversionEvent {
  return {
    typeId: type.id,
    alias: type.alias,
    defaultRevenue: type.hasRevenue ? type.defaultRevenue : "0",
    hasRevenue: type.hasRevenue,
    firesPostback: type.firesPostback,
    duplicatePolicy: type.duplicatePolicy,
  };
}

/** What applying a conversion needs to know about the hit it converts and the objects behind it. */
export interface ConvertingHit {
  hitId: string;
  visitorId: string;
  funnelId: string;
  pageId: string | null;
  pageKind: PageKind;
  trafficSourceId: string | null;
  externalId: string | null;
  cost: string | null;
  trackingFields: Readonly<Record<string, string>>;
  /** epoch ms */
  createdAtMs: number;
  /** The page's default payout; null when the page no longer exists (or the hit is no page). */
  defaultPayout: string | null;
  /** The offer source's duplicate policy. */
  duplicatePolicy: DuplicatePolicy | null;
  /** The offer source's own status words; a source that names its words is strict. */
  statusMap: Readonly<Record<string, ConversionStatus>> | null;
  /** The parameter this offer source sends the conversion time in, besides `ts`. */
  conversionTimeParam: string | null;
  /** The parameter this offer source sends its status word in (`status` unless it says otherwise). */
  statusParam: string | null;
  trafficSourcePostbackUrl: string | null;
  postbackOnUpdate: boolean | null;
  postbackOnReject: boolean | null;
  postbackDelaySeconds: number | null;
}

/** What was asked, already validated (parsePostback or its tag, action and import equivalents). */
export interface ConversionRequest {
  tx: string | null;
  revenue: Revenue;
  /** The status word as sent (trimmed); null when none was. Classified here, once the hit is known. */
  rawStatus: string | null;
  disablePostbacks: boolean;
  /** When the sender says the conversion happened (epoch ms); absent or null: when it was received. */
  conversionTime?: number | null;
  event?: ConversionEvent | null;
  /** Overrides the event type's and the offer source's policy (action triggers fire once per hit). */
  duplicatePolicy?: DuplicatePolicy;
  /** Every parameter received: an offer source may send status or time in a parameter of its own. */
  params: Readonly<Record<string, unknown>>;
  /** epoch ms */
  receivedAt: number;
  /** The workspace's currency, for the `{currency}` macro. */
  currency: string;
  /** Notes gathered before (parsing, picking the hit); the answer carries them first. */
  notes: readonly string[];
}

export interface ApplyInput {
  request: ConversionRequest;
  /** The hit the request names (given, or picked from the visitor's session). */
  hitId: string;
  /** Set when the hit was picked from the visitor's session. */
  visitorId: string | null;
  /** The hit as stored; null when it is not (yet) stored in this workspace. */
  hit: ConvertingHit | null;
  /** The identity's conversion as it stands: stored, or as an earlier request of the same batch left it. */
  existing: ExistingConversion | null;
}

/** A conversion as stored after a change: a deleted one keeps the revenue it had. */
export interface ConversionState {
  revenue: string;
  status: ConversionStatus;
  deleted: boolean;
  revision: number;
}

/** The traffic-source postback a change sends, as the delivery worker will fire it. */
export interface OutboundPostback {
  trafficSourceId: string;
  /** "conversion", or the custom event's alias. */
  event: string;
  url: string;
  unknownMacros: string[];
  /** The traffic source's delay before it may fire. */
  delayMs: number;
}

export type ChangeOutcome = "created" | "updated" | "deleted" | "restored";

export type ConversionApplication =
  /** Refused; nothing changes. */
  | { kind: "refuse"; httpStatus: number; error: string; notes: string[] }
  /** Accepted, nothing changes (a repeat, or a rejection with nothing to delete). */
  | { kind: "ignore"; reason: string; notes: string[] }
  | {
      kind: "change";
      outcome: ChangeOutcome;
      /** create_new: a repeat recorded as a conversion of its own (duplicate policy "new"). */
      action: Exclude<ConversionDecision["action"], "ignore">;
      conversion: ConversionState;
      /** The revenue shown before the change (-1 for a deleted one); null for a new conversion. */
      previousRevenue: string | null;
      /** When a new conversion happened (epoch ms); null for a change to an existing one, which keeps its time. */
      convertedAt: number | null;
      postback: OutboundPostback | null;
      notes: string[];
    };

/** The revenue a conversion shows: a deleted one reads -1, the seed's rejection value. */
export function shownRevenue(conversion: Pick<ConversionState, "revenue" | "deleted">): string {
  return conversion.deleted ? REJECTED_REVENUE : conversion.revenue;
}

export const REV_MINUS_ONE_NOTE = "rev=-1: deletes the conversion, as a rejected status does";

export function applyConversion(input: ApplyInput): ConversionApplication {
  const { request, hit, existing } = input;
  const notes = [...request.notes];
  const refuse = (httpStatus: number, error: string): ConversionApplication => ({
    kind: "refuse",
    httpStatus,
    error,
    notes,
  });

  // 1. The hit: stored in this workspace, and a page that converts.
  if (hit === null) {
    // A hit the session names exists: it is still in the outage spool.
    if (input.visitorId !== null)
      return refuse(503, `hit ${input.hitId} of visitor ${input.visitorId} is not stored yet; retry shortly`);
    return refuse(404, `hit not found: ${input.hitId} is not a hit of this workspace`);
  }
  if (!canConvert(hit.pageKind)) {
    return refuse(
      422,
      `hit ${hit.hitId} is a visit to ${describeKind(hit.pageKind)}; only lander and offer hits convert`,
    );
  }

  // 2. The status, classified once, with the offer source's words.
  const status = statusOf(request, hit);
  if (!status.ok) return refuse(400, status.error);

  // 3. Revenue: an event without revenue only counts; rev=-1 is the seed's delete marker.
  const event = request.event ?? null;
  let revenue = request.revenue;
  if (event !== null && !event.hasRevenue && revenue.kind === "value") {
    notes.push(`event '${event.alias}' carries no revenue: ${revenue.value} not recorded`);
    revenue = { kind: "absent" };
  }
  if (isRejectedRevenue(revenue) && status.status !== "rejected") notes.push(REV_MINUS_ONE_NOTE);

  // 4. Precedence: the event type's default revenue over the page's payout; the request's duplicate
  // policy over the event type's over the offer source's over the seed's.
  let defaultPayout = event?.defaultRevenue ?? hit.defaultPayout;
  if (defaultPayout === null) {
    defaultPayout = "0";
    if (revenue.kind === "absent") notes.push(`page ${hit.pageId ?? "?"} no longer exists: default payout 0`);
  }
  const policy =
    request.duplicatePolicy ?? event?.duplicatePolicy ?? hit.duplicatePolicy ?? DEFAULT_DUPLICATE_POLICY;

  // 5. The seed's decision.
  const decision = decideConversion({ existing, status: status.status, revenue, defaultPayout, policy });
  // A repeat handled by anything but the seed's default says which rule applied (the default's
  // outcome, "updated", says it by itself).
  if (existing !== null && policy !== DEFAULT_DUPLICATE_POLICY && decision.action !== "delete") {
    notes.push(`duplicate policy '${policy}': ${POLICY_WORDS[policy]}`);
  }

  // 6. The money range holds for what the decision makes of the request too: a summed repeat ("add")
  // or a default payout stored before the bound existed.
  const revenueProblem = "revenue" in decision ? conversionRevenueProblem(decision.revenue, "revenue") : null;
  if (revenueProblem !== null) return refuse(400, revenueProblem);

  if (decision.action === "ignore") return { kind: "ignore", reason: decision.reason, notes };

  // 7. The conversion after the change.
  const revision = revisionAfter(decision, existing);
  let conversion: ConversionState;
  let outcome: ChangeOutcome;
  let convertedAt: number | null = null;
  let previousRevenue: string | null = null;
  if (decision.action === "create" || decision.action === "create_new") {
    outcome = "created";
    convertedAt = conversionTimeOf(request, hit, notes);
    conversion = { revenue: decision.revenue, status: decision.status, deleted: false, revision };
  } else {
    const before = existing as ExistingConversion;
    // The audit chain reads old → new: a deleted conversion stood at -1.
    previousRevenue = shownRevenue(before);
    if (decision.action === "delete") {
      outcome = "deleted";
      conversion = { revenue: before.revenue, status: "rejected", deleted: true, revision };
    } else {
      outcome = decision.action === "restore" ? "restored" : "updated";
      conversion = { revenue: decision.revenue, status: decision.status, deleted: false, revision };
    }
  }

  // 8. The traffic source's postback.
  const postback = postbackOf(request, hit, decision, conversion, notes);
  return {
    kind: "change",
    outcome,
    action: decision.action,
    conversion,
    previousRevenue,
    convertedAt,
    postback,
    notes,
  };
}

const POLICY_WORDS: Record<DuplicatePolicy, string> = {
  ignore: "repeats are ignored",
  add: "repeats add to the revenue",
  new: "repeats count as new conversions",
  update: "",
};

type StatusOf = { ok: true; status: ConversionStatus } | { ok: false; error: string };

/**
 * The offer source may speak its own status words; the seed's words hold unless it overrides them.
 * A source that names its words is strict: a word neither it nor the seed knows is refused (with the
 * known list) rather than counted as a sale. Without a map the seed rule stands: any other word is a
 * normal conversion. A network that sends its status in a parameter of its own (`goal_status`,
 * `st`…) is read there when `status` itself was not sent.
 */
function statusOf(request: ConversionRequest, hit: ConvertingHit): StatusOf {
  let raw = request.rawStatus;
  if (raw === null && hit.statusParam !== null && hit.statusParam !== "status") {
    const sent = request.params[hit.statusParam];
    if (typeof sent === "string" && sent.trim() !== "") raw = sent.trim().slice(0, 64);
  }
  const classified = classifyStatus(
    raw,
    hit.statusMap === null ? undefined : { words: hit.statusMap, strict: true },
  );
  if (classified.kind === "unknown") {
    return {
      ok: false,
      error: `unknown status word '${classified.word}'; this offer source knows: ${classified.known.join(", ")}`,
    };
  }
  return { ok: true, status: classified.status };
}

/** A new conversion's time: `ts`, else the offer source's own time parameter, else when it was received. */
function conversionTimeOf(request: ConversionRequest, hit: ConvertingHit, notes: string[]): number {
  let requested = request.conversionTime ?? null;
  if (requested === null && hit.conversionTimeParam !== null) {
    const sent = parseConversionTime(request.params[hit.conversionTimeParam]);
    if (sent.kind === "value") requested = sent.at;
    else if (sent.kind === "invalid")
      notes.push(
        `${hit.conversionTimeParam}: ${sent.reason.replace(/^ts /, "")}; the time it was received is used`,
      );
  }
  const decided = decideConversionTime({ requested, receivedAt: request.receivedAt, hitAt: hit.createdAtMs });
  if (decided.note !== null) notes.push(decided.note);
  return decided.at;
}

function postbackOf(
  request: ConversionRequest,
  hit: ConvertingHit,
  decision: ConversionDecision,
  conversion: ConversionState,
  notes: string[],
): OutboundPostback | null {
  const fire = shouldNotifyTrafficSource({
    decision,
    disablePostbacks: request.disablePostbacks,
    source: trafficSourceNotify({
      postbackUrl: hit.trafficSourcePostbackUrl,
      postbackOnUpdate: hit.postbackOnUpdate,
      postbackOnReject: hit.postbackOnReject,
    }),
    ...(request.event ? { eventFiresPostback: request.event.firesPostback } : {}),
  });
  if (!fire || hit.trafficSourceId === null || hit.trafficSourcePostbackUrl === null) return null;
  // A template stored before the api refused tokens in the host must not let a click's values
  // choose where the postback goes.
  const problem = urlTemplateProblem(hit.trafficSourcePostbackUrl.trim());
  if (problem !== null) {
    notes.push(`traffic-source postback not sent: its URL template ${problem}`);
    return null;
  }
  const event = request.event?.alias ?? "conversion";
  const { url, unknownMacros } = renderOutboundPostback(
    hit.trafficSourcePostbackUrl,
    hit,
    { revenue: shownRevenue(conversion), status: conversion.status, tx: request.tx, event },
    request.currency,
  );
  return {
    trafficSourceId: hit.trafficSourceId,
    event,
    url,
    unknownMacros,
    delayMs: Math.max(0, hit.postbackDelaySeconds ?? 0) * 1000,
  };
}

function describeKind(kind: PageKind): string {
  return kind === "external" ? "an external URL node" : "a traffic entry, rotator or condition node";
}
