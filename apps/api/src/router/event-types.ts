import { createEventType } from "../services/event-types/create.ts";
import { archiveEventType, getEventType, listEventTypes } from "../services/event-types/read.ts";
import { updateEventType } from "../services/event-types/update.ts";
import { router, serviceMutation, serviceQuery } from "../trpc.ts";

export const eventTypesRouter = router({
  list: serviceQuery(listEventTypes),
  get: serviceQuery(getEventType),
  create: serviceMutation(createEventType),
  update: serviceMutation(updateEventType),
  archive: serviceMutation(archiveEventType),
});
