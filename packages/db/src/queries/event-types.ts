import { and, eq, inArray, isNull, ne, type SQL, sql } from "drizzle-orm";
import type { Executor } from "../client.ts";
import { customEventTypes } from "../schema/index.ts";
import { withWorkspace } from "../tenancy.ts";
import { insertOne, type NewRow, objectQueries } from "./objects.ts";

/** What the conversion rules take of a custom event type. */
export type LiveEventType = Pick<
  typeof customEventTypes.$inferSelect,
  "id" | "alias" | "defaultRevenue" | "hasRevenue" | "firesPostback" | "duplicatePolicy"
>;

/**
 * The workspace's live (not archived) custom event type named by `alias` (`flux.track("lead")`,
 * postback `e=lead`) or by `id` (funnel action triggers, so renames never break them).
 */
const LIVE_EVENT_TYPE = {
  id: customEventTypes.id,
  alias: customEventTypes.alias,
  defaultRevenue: customEventTypes.defaultRevenue,
  hasRevenue: customEventTypes.hasRevenue,
  firesPostback: customEventTypes.firesPostback,
  duplicatePolicy: customEventTypes.duplicatePolicy,
};

/** Every live custom event type of a workspace (a conversion import resolves aliases row by row). */
export async function listLiveEventTypes(
  db: Executor,
  input: { workspaceId: string },
): Promise<LiveEventType[]> {
  const t = customEventTypes;
  return db
    .select(LIVE_EVENT_TYPE)
    .from(t)
    .where(and(eq(t.workspaceId, input.workspaceId), isNull(t.archivedAt)));
}

export async function findLiveEventType(
  db: Executor,
  input: { workspaceId: string } & ({ alias: string } | { id: string }),
): Promise<LiveEventType | undefined> {
  const t = customEventTypes;
  const match: SQL = "alias" in input ? eq(t.alias, input.alias) : eq(t.id, input.id);
  const [row] = await withWorkspace(db, input.workspaceId, (tx) =>
    tx
      .select(LIVE_EVENT_TYPE)
      .from(t)
      .where(and(eq(t.workspaceId, input.workspaceId), match, isNull(t.archivedAt)))
      .limit(1),
  );
  return row;
}

// --- as the dashboard edits them ----------------------------------------------------------------------

export type EventTypeRow = typeof customEventTypes.$inferSelect;

export const eventTypeQueries = objectQueries(customEventTypes);

export const createCustomEventType = (db: Executor, input: NewRow<typeof customEventTypes>) =>
  insertOne(db.insert(customEventTypes).values(input).returning());

/** Whether a live custom event type of the workspace already uses an alias (compared case-insensitively). */
export async function eventAliasTaken(
  db: Executor,
  input: { workspaceId: string; alias: string; exceptId?: string },
): Promise<boolean> {
  const [row] = await db
    .select({ id: customEventTypes.id })
    .from(customEventTypes)
    .where(
      and(
        eq(customEventTypes.workspaceId, input.workspaceId),
        sql`lower(${customEventTypes.alias}) = lower(${input.alias})`,
        isNull(customEventTypes.archivedAt),
        input.exceptId ? ne(customEventTypes.id, input.exceptId) : undefined,
      ),
    )
    .limit(1);
  return row !== undefined;
}

/** Which of `ids` are custom event types of the workspace. */
export async function existingEventTypeIds(
  db: Executor,
  input: { workspaceId: string; ids: string[] },
): Promise<Set<string>> {
  if (input.ids.length === 0) return new Set();
  const rows = await db
    .select({ id: customEventTypes.id })
    .from(customEventTypes)
    .where(and(eq(customEventTypes.workspaceId, input.workspaceId), inArray(customEventTypes.id, input.ids)));
  return new Set(rows.map((r) => r.id));
}
