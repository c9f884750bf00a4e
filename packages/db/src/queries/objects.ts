import { and, desc, eq, ilike, isNull, lt, type SQL, sql } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import type { Executor } from "../client.ts";
import type { customEventTypes, landers, offerSources, offers, trafficSources } from "../schema/index.ts";

// What the campaign objects (traffic sources, offer sources, offers, landers, custom event types)
// share: the same list/find/insert/update/archive statements, each entity's file instantiating them
// for its table. Every statement is filtered by workspace, so an id from another workspace simply
// finds nothing.

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

/** A list page's rows: the workspace's, live ones unless asked, matching the search, before the cursor. */
export function listFilter(
  t: { workspaceId: PgColumn; archivedAt: PgColumn; name: PgColumn; id: PgColumn },
  input: ObjectListInput,
): SQL | undefined {
  return and(
    eq(t.workspaceId, input.workspaceId),
    input.includeArchived ? undefined : isNull(t.archivedAt),
    input.search ? ilike(t.name, `%${escapeLike(input.search)}%`) : undefined,
    input.before ? lt(t.id, input.before) : undefined,
  );
}

/**
 * The same five statements for every campaign object table. The tables share id, workspace_id,
 * name and archived_at; drizzle's builders are typed per table, so the shared shape is borrowed from
 * one of them and the rows are returned as the caller's own table type.
 */
export function objectQueries<T extends ObjectTable>(table: T) {
  type Row = T["$inferSelect"];
  type Insert = Omit<T["$inferInsert"], "id" | "createdAt" | "updatedAt">;
  const t = table as unknown as typeof landers;
  const scoped = (workspaceId: string, id: string) => and(eq(t.workspaceId, workspaceId), eq(t.id, id));
  return {
    async list(db: Executor, input: ObjectListInput): Promise<Row[]> {
      const rows = await db
        .select()
        .from(t)
        .where(listFilter(t, input))
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

/** A new row of a campaign table: what its caller gives, without what the database fills in. */
export type NewRow<T extends { $inferInsert: unknown }> = Omit<
  T["$inferInsert"],
  "id" | "createdAt" | "updatedAt"
>;

/** The one row an INSERT … RETURNING gave back. */
export async function insertOne<R>(rows: Promise<R[]>): Promise<R> {
  const [row] = await rows;
  if (!row) throw new Error("insert returned nothing");
  return row;
}
