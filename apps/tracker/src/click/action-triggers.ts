import { type FunnelAction, planActionTriggers, type SessionHitRef } from "@hitrail/core";
import { findEventTypeById } from "../conversions/event-types.ts";
import { conversionRecorderFor } from "../conversions/index.ts";
import type { ConversionEventRef, RecordResult } from "../conversions/types.ts";
import type { TrackerDeps } from "../deps.ts";
import type { HitRow } from "../hit-writer.ts";
import type { HostWorkspace } from "../workspace-resolver.ts";

/** An action link that was followed: where it came from and the hit it made. */
export interface ActionTaken {
  workspace: HostWorkspace;
  action: FunnelAction;
  /** The page hit the visitor clicked on; on-action conversions and events land on this page. */
  originHit: SessionHitRef;
  /** The visitor's live session before this click (oldest first); empty when it had none. */
  sessionHits: readonly SessionHitRef[];
  /** The new hit, already safe (committed or spooled). */
  hit: HitRow;
  visitorId: string;
}

export interface TriggerOutcome {
  kind: "conversion" | "event";
  eventTypeId: string | null;
  result: RecordResult | { ok: false; error: string };
}

/**
 * On-action triggers (seed: "Triggering via the Funnel Builder … on action"): the conversion and
 * custom events configured on the action are recorded on the page the action comes out of — once
 * per visitor session and action unless a trigger says "every time" (core's planActionTriggers) —
 * through the same recorder as `/pb/` and the tag — so attribution, outbound postbacks and the
 * received-postback log are shared. Called once the new hit is safe and before the 302 leaves, and
 * awaited, so a trigger the visitor caused is committed when they move on. A failing trigger is
 * logged and never costs the click.
 */
export async function fireActionTriggers(deps: TrackerDeps, taken: ActionTaken): Promise<TriggerOutcome[]> {
  const { fires, skipped } = planActionTriggers({
    actionNumber: taken.action.number,
    triggers: taken.action.triggers,
    origin: taken.originHit,
    sessionHits: taken.sessionHits,
    clickHitId: taken.hit.id,
  });
  const log = deps.logger.child({
    workspaceId: taken.workspace.workspaceId,
    hitId: taken.originHit.hitId,
    action: taken.action.number,
  });
  for (const reason of skipped) log.warn({ reason }, "action trigger skipped");
  if (fires.length === 0) return [];

  const recorder = conversionRecorderFor(deps);
  const params = {
    action: String(taken.action.number),
    from: taken.action.from,
    hit: taken.originHit.hitId,
    vid: taken.visitorId,
    next: taken.hit.id,
  };
  const receivedAt = deps.now();
  // One after the other: the conversion first, then events, each its own identity on the hit.
  const outcomes: TriggerOutcome[] = [];
  for (const fire of fires) {
    try {
      let event: ConversionEventRef | null = null;
      if (fire.kind === "event" && fire.eventTypeId !== null) {
        // Under the breaker: while the database is down the click never waits for this read.
        const eventTypeId = fire.eventTypeId;
        event = await deps.breaker.call(
          () => findEventTypeById(deps, taken.workspace.workspaceId, eventTypeId),
          1_000,
        );
        if (event === null) {
          const error = `custom event type ${fire.eventTypeId} no longer exists`;
          log.warn({ eventTypeId: fire.eventTypeId }, `action trigger skipped: ${error}`);
          outcomes.push({ kind: fire.kind, eventTypeId: fire.eventTypeId, result: { ok: false, error } });
          continue;
        }
      }
      const result = await recorder.record({
        workspace: taken.workspace,
        channel: "action",
        target: { by: "hit", hitId: fire.hitId },
        tx: fire.tx,
        revenue: fire.revenue,
        statusWord: null,
        rawStatus: null,
        disablePostbacks: false,
        event,
        duplicatePolicy: fire.duplicatePolicy,
        notes: fire.notes,
        meta: {
          method: "action",
          ip: taken.hit.ip ?? null,
          params: event ? { ...params, e: event.alias } : params,
          receivedAt,
        },
      });
      if (!result.ok) log.warn({ kind: fire.kind, result }, "action trigger refused");
      outcomes.push({ kind: fire.kind, eventTypeId: fire.eventTypeId, result });
    } catch (error) {
      log.error({ err: error, kind: fire.kind }, "action trigger failed; the click still redirects");
      outcomes.push({
        kind: fire.kind,
        eventTypeId: fire.eventTypeId,
        result: { ok: false, error: (error as Error).message },
      });
    }
  }
  return outcomes;
}
