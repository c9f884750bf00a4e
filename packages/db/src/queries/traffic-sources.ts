import { and, asc, eq, sql } from "drizzle-orm";
import type { Executor } from "../client.ts";
import { trafficSources } from "../schema/index.ts";
import { insertOne, type NewRow, objectQueries } from "./objects.ts";

// Traffic sources: where visits come from, the tracking fields they pass and the postback they want.

export type TrafficSourceRow = typeof trafficSources.$inferSelect;

export const trafficSourceQueries = objectQueries(trafficSources);

export const createTrafficSource = (db: Executor, input: NewRow<typeof trafficSources>) =>
  insertOne(db.insert(trafficSources).values(input).returning());

export async function findTrafficSource(db: Executor, workspaceId: string, id: string) {
  const [row] = await db
    .select()
    .from(trafficSources)
    .where(and(eq(trafficSources.workspaceId, workspaceId), eq(trafficSources.id, id)))
    .limit(1);
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
