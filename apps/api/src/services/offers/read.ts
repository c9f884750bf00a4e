import { offerQueries } from "@hitrail/db";
import { objectReadServices } from "../objects/read.ts";
import { offerOutput, toOfferOutput } from "./schemas.ts";

export const {
  list: listOffers,
  get: getOffer,
  archive: archiveOffer,
} = objectReadServices({
  entity: "offer",
  idField: "offerId",
  queries: offerQueries,
  output: offerOutput,
  toOutput: toOfferOutput,
});
