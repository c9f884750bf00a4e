import { landerQueries } from "@hitrail/db";
import { objectReadServices } from "../objects/read.ts";
import { landerOutput, toLanderOutput } from "./schemas.ts";

export const {
  list: listLanders,
  get: getLander,
  archive: archiveLander,
} = objectReadServices({
  entity: "lander",
  idField: "landerId",
  queries: landerQueries,
  output: landerOutput,
  toOutput: toLanderOutput,
});
