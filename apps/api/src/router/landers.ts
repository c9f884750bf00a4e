import { createLander } from "../services/landers/create.ts";
import { archiveLander, getLander, listLanders } from "../services/landers/read.ts";
import { updateLander } from "../services/landers/update.ts";
import { router, serviceMutation, serviceQuery } from "../trpc.ts";

export const landersRouter = router({
  list: serviceQuery(listLanders),
  get: serviceQuery(getLander),
  create: serviceMutation(createLander),
  update: serviceMutation(updateLander),
  archive: serviceMutation(archiveLander),
});
