import { and, eq, isNull, type SQL, schema, withWorkspace } from "@hitrail/db";
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
  return findBy(deps, workspaceId, eq(schema.customEventTypes.alias, alias));
}

/** The same by id: funnel action triggers name their event types by id, so renames never break them. */
export async function findEventTypeById(
  deps: Pick<TrackerDeps, "db">,
  workspaceId: string,
  id: string,
): Promise<ConversionEventRef | null> {
  if (!UUID.test(id)) return null;
  return findBy(deps, workspaceId, eq(schema.customEventTypes.id, id));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function findBy(
  deps: Pick<TrackerDeps, "db">,
  workspaceId: string,
  match: SQL,
): Promise<ConversionEventRef | null> {
  const t = schema.customEventTypes;
  const [row] = await withWorkspace(deps.db.db, workspaceId, (tx) =>
    tx
      .select({
        id: t.id,
        alias: t.alias,
        defaultRevenue: t.defaultRevenue,
        hasRevenue: t.hasRevenue,
        firesPostback: t.firesPostback,
        duplicatePolicy: t.duplicatePolicy,
      })
      .from(t)
      .where(and(eq(t.workspaceId, workspaceId), match, isNull(t.archivedAt)))
      .limit(1),
  );
  if (row === undefined) return null;
  return {
    typeId: row.id,
    alias: row.alias,
    // The type's own default, never the page's payout: a "lead" is not worth the offer's payout.
    defaultRevenue: row.hasRevenue ? row.defaultRevenue : "0",
    hasRevenue: row.hasRevenue,
    firesPostback: row.firesPostback,
    duplicatePolicy: row.duplicatePolicy,
  };
}
