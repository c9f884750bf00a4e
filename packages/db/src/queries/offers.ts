import type { Executor } from "../client.ts";
import { offers } from "../schema/index.ts";
import { insertOne, type NewRow, objectQueries } from "./objects.ts";

// Offers: the pages a funnel sends a visitor to last, each from an offer source.

export type OfferRow = typeof offers.$inferSelect;

export const offerQueries = objectQueries(offers);

export const createOffer = (db: Executor, input: NewRow<typeof offers>) =>
  insertOne(db.insert(offers).values(input).returning());
