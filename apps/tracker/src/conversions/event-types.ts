import { conversionEventOf } from "@hitrail/core";
import { findLiveEventType } from "@hitrail/db";
import type { TrackerDeps } from "../deps.ts";
import type { ConversionEventRef } from "./types.ts";

/**
 * The workspace's custom event type called `alias` (`flux.track("lead")`, postback `e=lead`) as
 * the recorder takes it, or null when there is none. Archived types are gone for new events; the
 * event's identity key is the type's id, so renaming an alias never splits its duplicates.
 */
export async function findEventType(
  deps: Pick<TrackerDeps, "db">,
  workspaceId: string,
  alias: string,
): Promise<ConversionEventRef | null> {
  const type = await findLiveEventType(deps.db.db, { workspaceId, alias });
  return type === undefined ? null : conversionEventOf(type);
}

/** The same by id: funnel action triggers name their event types by id, so renames never break them. */
export async function findEventTypeById(
  deps: Pick<TrackerDeps, "db">,
  workspaceId: string,
  id: string,
): Promise<ConversionEventRef | null> {
  if (!UUID.test(id)) return null;
  const type = await findLiveEventType(deps.db.db, { workspaceId, id });
  return type === undefined ? null : conversionEventOf(type);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
