import { createOffer } from "../services/offers/create.ts";
import { archiveOffer, getOffer, listOffers } from "../services/offers/read.ts";
import { updateOffer } from "../services/offers/update.ts";
import { router, serviceMutation, serviceQuery } from "../trpc.ts";

export const offersRouter = router({
  list: serviceQuery(listOffers),
  get: serviceQuery(getOffer),
  create: serviceMutation(createOffer),
  update: serviceMutation(updateOffer),
  archive: serviceMutation(archiveOffer),
});
