import { trafficSourceQueries } from "@hitrail/db";
import { objectReadServices } from "../objects/read.ts";
import { toTrafficSourceOutput, trafficSourceOutput } from "./schemas.ts";

export const {
  list: listTrafficSources,
  get: getTrafficSource,
  archive: archiveTrafficSource,
} = objectReadServices({
  entity: "traffic source",
  idField: "trafficSourceId",
  queries: trafficSourceQueries,
  output: trafficSourceOutput,
  toOutput: toTrafficSourceOutput,
});
