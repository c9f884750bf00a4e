import { and, asc, desc, eq, ilike, inArray, isNull, lt, ne, sql } from "drizzle-orm";
import type { Executor } from "../client.ts";
import {
  customEventTypes,
  funnelActions,
  funnelNodes,
  funnels,
  landers,
  offerSources,
  offers,
  trafficSources,
} from "../schema/index.ts";

// Campaign objects (traffic sources, offer sources, offers, landers, custom event types) as the
// dashboard API lists and edits them. Every statement is filtered by workspace, so an id from another
// workspace simply finds nothing.

type ObjectTable =
  | typeof trafficSources
  | typeof offerSources
  | typeof offers
  | typeof landers
  | typeof customEventTypes;

export interface ObjectListInput {
  workspaceId: string;
  includeArchived?: boolean;
  /** Case-insensitive part of the name. */
  search?: string;
  limit: number;
  /** Id of the last row of the previous page: ids are time-sortable, pages go newest first. */
  before?: string;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The same five statements for every campaign object table. The tables share id, workspace_id,
 * name and archived_at; drizzle's builders are typed per table, so the shared shape is borrowed from
 * one of them and the rows are returned as the caller's own table type.
 */
function objectQueries<T extends ObjectTable>(table: T) {
  type Row = T["$inferSelect"];
  type Insert = Omit<T["$inferInsert"], "id" | "createdAt" | "updatedAt">;
  const t = table as unknown as typeof landers;
  const scoped = (workspaceId: string, id: string) => and(eq(t.workspaceId, workspaceId), eq(t.id, id));
  return {
    async list(db: Executor, input: ObjectListInput): Promise<Row[]> {
      const rows = await db
        .select()
        .from(t)
        .where(
          and(
            eq(t.workspaceId, input.workspaceId),
            input.includeArchived ? undefined : isNull(t.archivedAt),
            input.search ? ilike(t.name, `%${escapeLike(input.search)}%`) : undefined,
            input.before ? lt(t.id, input.before) : undefined,
          ),
        )
        .orderBy(desc(t.id))
        .limit(input.limit);
      return rows as unknown as Row[];
    },
    async find(db: Executor, input: { workspaceId: string; id: string }): Promise<Row | undefined> {
      const [row] = await db.select().from(t).where(scoped(input.workspaceId, input.id)).limit(1);
      return row as unknown as Row | undefined;
    },
    async insert(db: Executor, values: Insert): Promise<Row> {
      const [row] = await db
        .insert(t)
        .values(values as unknown as typeof landers.$inferInsert)
        .returning();
      if (!row) throw new Error("insert returned nothing");
      return row as unknown as Row;
    },
    async update(
      db: Executor,
      input: { workspaceId: string; id: string; values: Partial<Insert> },
    ): Promise<Row | undefined> {
      const [row] = await db
        .update(t)
        .set(input.values as unknown as Partial<typeof landers.$inferInsert>)
        .where(scoped(input.workspaceId, input.id))
        .returning();
      return row as unknown as Row | undefined;
    },
    async setArchived(
      db: Executor,
      input: { workspaceId: string; id: string; archived: boolean },
    ): Promise<Row | undefined> {
      const [row] = await db
        .update(t)
        .set({ archivedAt: input.archived ? sql`coalesce(${t.archivedAt}, now())` : null })
        .where(scoped(input.workspaceId, input.id))
        .returning();
      return row as unknown as Row | undefined;
    },
  };
}

export const trafficSourceQueries = objectQueries(trafficSources);
export const offerSourceQueries = objectQueries(offerSources);
export const offerQueries = objectQueries(offers);
export const landerQueries = objectQueries(landers);
export const eventTypeQueries = objectQueries(customEventTypes);

export type TrafficSourceRow = typeof trafficSources.$inferSelect;
export type OfferSourceRow = typeof offerSources.$inferSelect;
export type OfferRow = typeof offers.$inferSelect;
export type LanderRow = typeof landers.$inferSelect;
export type EventTypeRow = typeof customEventTypes.$inferSelect;

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

// --- funnels ------------------------------------------------------------------------------------------

export type FunnelRow = typeof funnels.$inferSelect;
export type FunnelNodeRow = typeof funnelNodes.$inferSelect;
export type FunnelActionRow = typeof funnelActions.$inferSelect;

export async function listFunnels(db: Executor, input: ObjectListInput) {
  return db
    .select({
      id: funnels.id,
      name: funnels.name,
      entryNodeId: funnels.entryNodeId,
      version: funnels.version,
      archivedAt: funnels.archivedAt,
      createdAt: funnels.createdAt,
      updatedAt: funnels.updatedAt,
      // Spelled out: drizzle renders a single-table select's columns unqualified, and an unqualified
      // "id" inside the subquery is the node's own id, which counted nothing.
      nodeCount: sql<number>`(select count(*)::int from funnel_nodes n where n.workspace_id = funnels.workspace_id and n.funnel_id = funnels.id)`,
    })
    .from(funnels)
    .where(
      and(
        eq(funnels.workspaceId, input.workspaceId),
        input.includeArchived ? undefined : isNull(funnels.archivedAt),
        input.search ? ilike(funnels.name, `%${escapeLike(input.search)}%`) : undefined,
        input.before ? lt(funnels.id, input.before) : undefined,
      ),
    )
    .orderBy(desc(funnels.id))
    .limit(input.limit);
}

export async function findFunnel(
  db: Executor,
  input: { workspaceId: string; funnelId: string },
): Promise<FunnelRow | undefined> {
  const [row] = await db
    .select()
    .from(funnels)
    .where(and(eq(funnels.workspaceId, input.workspaceId), eq(funnels.id, input.funnelId)))
    .limit(1);
  return row;
}

/** A funnel's nodes and actions as stored (the builder's view, positions included). */
export async function loadFunnelRows(db: Executor, input: { workspaceId: string; funnelId: string }) {
  const [nodes, actions] = await Promise.all([
    db
      .select()
      .from(funnelNodes)
      .where(and(eq(funnelNodes.workspaceId, input.workspaceId), eq(funnelNodes.funnelId, input.funnelId)))
      .orderBy(asc(funnelNodes.createdAt), asc(funnelNodes.id)),
    db
      .select()
      .from(funnelActions)
      .where(
        and(eq(funnelActions.workspaceId, input.workspaceId), eq(funnelActions.funnelId, input.funnelId)),
      )
      .orderBy(asc(funnelActions.fromNodeId), asc(funnelActions.number)),
  ]);
  return { nodes, actions };
}

export async function setFunnelArchived(
  db: Executor,
  input: { workspaceId: string; funnelId: string; archived: boolean },
): Promise<FunnelRow | undefined> {
  const [row] = await db
    .update(funnels)
    // The version bump is what trackers watch: an archived funnel stops routing at once.
    .set({
      archivedAt: input.archived ? sql`coalesce(${funnels.archivedAt}, now())` : null,
      version: sql`${funnels.version} + 1`,
    })
    .where(and(eq(funnels.workspaceId, input.workspaceId), eq(funnels.id, input.funnelId)))
    .returning();
  return row;
}

/**
 * The tracking fields every traffic source of a workspace defines, archived sources' too: their
 * names are macros a page URL may use (`{zoneid}`), whatever source sends the visit.
 */
export async function listTrackingFieldNames(
  db: Executor,
  input: { workspaceId: string },
): Promise<Array<{ name: string; trafficSource: string }>> {
  return db
    .select({
      name: sql<string>`f.value->>'name'`,
      trafficSource: trafficSources.name,
    })
    .from(trafficSources)
    .innerJoin(sql`jsonb_array_elements(${trafficSources.trackingFields}) as f(value)`, sql`true`)
    .where(eq(trafficSources.workspaceId, input.workspaceId))
    .orderBy(asc(trafficSources.name));
}
