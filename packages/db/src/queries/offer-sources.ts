import type { Executor } from "../client.ts";
import { offerSources } from "../schema/index.ts";
import { insertOne, type NewRow, objectQueries } from "./objects.ts";

// Offer sources (affiliate networks): where offers come from and how their postbacks name things.

export type OfferSourceRow = typeof offerSources.$inferSelect;

export const offerSourceQueries = objectQueries(offerSources);

export const createOfferSource = (db: Executor, input: NewRow<typeof offerSources>) =>
  insertOne(db.insert(offerSources).values(input).returning());
