import { eventTypeQueries } from "@hitrail/db";
import { objectReadServices } from "../objects/read.ts";
import { eventTypeOutput, toEventTypeOutput } from "./schemas.ts";

export const {
  list: listEventTypes,
  get: getEventType,
  archive: archiveEventType,
} = objectReadServices({
  entity: "custom event type",
  idField: "eventTypeId",
  queries: eventTypeQueries,
  output: eventTypeOutput,
  toOutput: toEventTypeOutput,
});
