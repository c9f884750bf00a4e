import type { Executor } from "../client.ts";
import { landers } from "../schema/index.ts";
import { insertOne, type NewRow, objectQueries } from "./objects.ts";

// Landers: the pages a funnel shows before an offer.

export type LanderRow = typeof landers.$inferSelect;

export const landerQueries = objectQueries(landers);

export const createLander = (db: Executor, input: NewRow<typeof landers>) =>
  insertOne(db.insert(landers).values(input).returning());
