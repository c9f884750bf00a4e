import type { FunnelAction, SessionHitRef } from "@hitrail/core";
import type { TrackerDeps } from "../deps.ts";
import type { HitRow } from "../hit-writer.ts";
import type { HostWorkspace } from "../workspace-resolver.ts";

/** An action link that was followed: where it came from and the hit it made. */
export interface ActionTaken {
  workspace: HostWorkspace;
  action: FunnelAction;
  /** The page hit the visitor clicked on; on-action conversions and events land on this hit. */
  originHit: SessionHitRef;
  /** The new hit, already safe (committed or spooled). */
  hit: HitRow;
  visitorId: string;
}

/**
 * The place on-action triggers will fire: a conversion and/or custom events configured on a funnel
 * action (`action.triggers`; seed: "Triggering via the Funnel Builder … on action"). Called for
 * every action click once the new hit is safe and before the 302 leaves, so whatever it records is
 * safe when the visitor moves on. Deliberately empty for now: a later issue implements it.
 */
export async function fireActionTriggers(_deps: TrackerDeps, _taken: ActionTaken): Promise<void> {}
