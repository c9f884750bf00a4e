import { and, eq, isNull, schema } from "@hitrail/db";
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
  const t = schema.customEventTypes;
  const [row] = await deps.db.db
    .select({
      id: t.id,
      alias: t.alias,
      defaultRevenue: t.defaultRevenue,
      firesPostback: t.firesPostback,
      duplicatePolicy: t.duplicatePolicy,
    })
    .from(t)
    .where(and(eq(t.workspaceId, workspaceId), eq(t.alias, alias), isNull(t.archivedAt)))
    .limit(1);
  if (row === undefined) return null;
  return {
    typeId: row.id,
    alias: row.alias,
    // The type's own default, never the page's payout: a "lead" is not worth the offer's payout.
    defaultRevenue: row.defaultRevenue,
    firesPostback: row.firesPostback,
    duplicatePolicy: row.duplicatePolicy,
  };
}
