import { and, eq } from "drizzle-orm";
import type { Executor } from "../client.ts";
import { customEventTypes, landers, offerSources, offers, trafficSources } from "../schema/index.ts";

type Insert<T extends { $inferInsert: unknown }> = Omit<T["$inferInsert"], "id" | "createdAt" | "updatedAt">;

async function insertOne<R>(rows: Promise<R[]>): Promise<R> {
  const [row] = await rows;
  if (!row) throw new Error("insert returned nothing");
  return row;
}

export const createTrafficSource = (db: Executor, input: Insert<typeof trafficSources>) =>
  insertOne(db.insert(trafficSources).values(input).returning());
export const createOfferSource = (db: Executor, input: Insert<typeof offerSources>) =>
  insertOne(db.insert(offerSources).values(input).returning());
export const createOffer = (db: Executor, input: Insert<typeof offers>) =>
  insertOne(db.insert(offers).values(input).returning());
export const createLander = (db: Executor, input: Insert<typeof landers>) =>
  insertOne(db.insert(landers).values(input).returning());
export const createCustomEventType = (db: Executor, input: Insert<typeof customEventTypes>) =>
  insertOne(db.insert(customEventTypes).values(input).returning());

export async function findTrafficSource(db: Executor, workspaceId: string, id: string) {
  const [row] = await db
    .select()
    .from(trafficSources)
    .where(and(eq(trafficSources.workspaceId, workspaceId), eq(trafficSources.id, id)))
    .limit(1);
  return row;
}
