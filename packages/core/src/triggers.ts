import type { DuplicatePolicy } from "./conversion/decide.ts";
import type { ActionTriggers } from "./funnel/index.ts";
import { parseConversionRevenue, type Revenue } from "./money.ts";
import type { SessionHitRef } from "./visitor.ts";

/**
 * How often a trigger counts. "once": once per visitor session and action — a repeat (a second
 * click, a back-button reload that made a new lander hit and the same click again, a second tab)
 * updates that one conversion, never doubles it, like a postback without tx. "every": each click is
 * its own conversion or event (a counter of clicks, say).
 */
export type TriggerRepeat = "once" | "every";

/**
 * One thing an on-action trigger records (seed: "For any action coming out of a page, right-click >
 * modify action… choose to trigger specific custom events or conversions").
 */
export interface TriggerFire {
  kind: "conversion" | "event";
  /** The custom event type, for kind "event". */
  eventTypeId: string | null;
  repeat: TriggerRepeat;
  /**
   * The hit it is recorded on: for "once", the visitor's first hit of this session on the page the
   * action comes out of, so every repeat finds the same conversion; for "every", the hit clicked on.
   */
  hitId: string;
  /**
   * The transaction ID it is recorded under: each action has its own, so two actions with a
   * conversion trigger are two conversions (as two tx are). "every" adds the click's own hit, so
   * each click is a new identity.
   */
  tx: string;
  /** Absent: the page's default payout (conversion) or the event type's default (event). */
  revenue: Revenue;
  /** A repeat of the same identity updates (the seed's postback rule), whatever the offer source says. */
  duplicatePolicy: DuplicatePolicy;
  /** For the received-postback log. */
  notes: string[];
}

export type TriggerPlan = { fires: TriggerFire[]; skipped: string[] };

export interface ActionTaken {
  actionNumber: number;
  triggers: ActionTriggers;
  /** The page hit the action was clicked on. */
  origin: Pick<SessionHitRef, "hitId" | "funnelId" | "nodeId">;
  /** The visitor's live session before this click, oldest first; empty when there is none. */
  sessionHits: readonly SessionHitRef[];
  /** The hit this click made (one per click). */
  clickHitId: string;
}

export function actionTriggerTx(actionNumber: number): string {
  return `action-${actionNumber}`;
}

/**
 * The hit a once-per-session trigger lands on: the session's first hit on the node the action
 * comes out of (a reload of the page is another hit on the same node), else the hit clicked on.
 * Pure over the session, so concurrent repeats agree without a lookup and the conversion
 * writer's identity lock keeps them to one row.
 */
export function onceTriggerHit(origin: ActionTaken["origin"], sessionHits: readonly SessionHitRef[]): string {
  for (const h of sessionHits) {
    if (h.funnelId === origin.funnelId && h.nodeId === origin.nodeId) return h.hitId;
  }
  return origin.hitId;
}

function revenueOf(raw: string | null | undefined, what: string, skipped: string[]): Revenue | null {
  const parsed = parseConversionRevenue(raw ?? null);
  if (parsed.kind === "invalid") {
    // Funnels are validated when saved; a stored value that no longer parses is skipped, not guessed.
    skipped.push(`${what}: ${parsed.reason}`);
    return null;
  }
  return parsed;
}

/** What taking an action with these triggers records, and on which hit. */
export function planActionTriggers(taken: ActionTaken): TriggerPlan {
  const { actionNumber, triggers } = taken;
  const fires: TriggerFire[] = [];
  const skipped: string[] = [];
  const base = actionTriggerTx(actionNumber);
  const onceHit = onceTriggerHit(taken.origin, taken.sessionHits);
  const fire = (
    kind: TriggerFire["kind"],
    eventTypeId: string | null,
    revenue: Revenue,
    everyTime: boolean | undefined,
  ): TriggerFire => {
    const repeat: TriggerRepeat = everyTime === true ? "every" : "once";
    const notes: string[] = [];
    if (repeat === "once" && onceHit !== taken.origin.hitId) {
      notes.push(
        `once per visitor session: recorded on the session's first view of this page (hit ${onceHit})`,
      );
    }
    return {
      kind,
      eventTypeId,
      repeat,
      hitId: repeat === "once" ? onceHit : taken.origin.hitId,
      tx: repeat === "once" ? base : `${base}/${taken.clickHitId}`,
      revenue,
      duplicatePolicy: "update",
      notes,
    };
  };
  if (triggers.conversion) {
    const revenue = revenueOf(triggers.conversion.revenue, `action ${actionNumber} conversion`, skipped);
    if (revenue) fires.push(fire("conversion", null, revenue, triggers.conversion.everyTime));
  }
  const seen = new Set<string>();
  for (const event of triggers.events ?? []) {
    const eventTypeId = event.eventTypeId.trim();
    if (eventTypeId === "") {
      skipped.push(`action ${actionNumber}: an event trigger names no event`);
      continue;
    }
    // The same event twice on one action would be one identity anyway: fire it once.
    if (seen.has(eventTypeId)) continue;
    seen.add(eventTypeId);
    const revenue = revenueOf(event.revenue, `action ${actionNumber} event ${eventTypeId}`, skipped);
    if (revenue) fires.push(fire("event", eventTypeId, revenue, event.everyTime));
  }
  return { fires, skipped };
}
