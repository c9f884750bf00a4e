import type { DuplicatePolicy } from "./conversion.ts";
import type { ActionTriggers } from "./funnel.ts";
import { parseConversionRevenue, type Revenue } from "./money.ts";

/**
 * One thing an on-action trigger records on the hit of the page the action comes out of (seed:
 * "For any action coming out of a page, right-click > modify action… choose to trigger specific
 * custom events or conversions").
 */
export interface TriggerFire {
  kind: "conversion" | "event";
  /** The custom event type, for kind "event". */
  eventTypeId: string | null;
  /**
   * The transaction ID the trigger records under. Each action has its own, so two actions with a
   * conversion trigger are two conversions on the hit (as two tx are), while the same action taken
   * again from the same hit is the same identity.
   */
  tx: string;
  /** Absent: the page's default payout (conversion) or the event type's default (event). */
  revenue: Revenue;
  /**
   * A trigger fires once per hit and action: a repeat click (back button, second tab, double click)
   * is a duplicate to ignore, never an update or another conversion, whatever the offer source's
   * policy for network postbacks says.
   */
  duplicatePolicy: DuplicatePolicy;
}

export type TriggerPlan = { fires: TriggerFire[]; skipped: string[] };

export function actionTriggerTx(actionNumber: number): string {
  return `action-${actionNumber}`;
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

/** What taking action `actionNumber` with these triggers records on the originating page hit. */
export function planActionTriggers(actionNumber: number, triggers: ActionTriggers): TriggerPlan {
  const fires: TriggerFire[] = [];
  const skipped: string[] = [];
  const tx = actionTriggerTx(actionNumber);
  if (triggers.conversion) {
    const revenue = revenueOf(triggers.conversion.revenue, `action ${actionNumber} conversion`, skipped);
    if (revenue)
      fires.push({ kind: "conversion", eventTypeId: null, tx, revenue, duplicatePolicy: "ignore" });
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
    if (revenue) fires.push({ kind: "event", eventTypeId, tx, revenue, duplicatePolicy: "ignore" });
  }
  return { fires, skipped };
}
