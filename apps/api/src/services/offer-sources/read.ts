import { offerSourceQueries } from "@hitrail/db";
import { objectReadServices } from "../objects/read.ts";
import { offerSourceOutput, toOfferSourceOutput } from "./schemas.ts";

export const {
  list: listOfferSources,
  get: getOfferSource,
  archive: archiveOfferSource,
} = objectReadServices({
  entity: "offer source",
  idField: "offerSourceId",
  queries: offerSourceQueries,
  output: offerSourceOutput,
  toOutput: toOfferSourceOutput,
});
