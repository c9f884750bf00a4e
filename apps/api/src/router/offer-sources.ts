import { createOfferSource } from "../services/offer-sources/create.ts";
import { archiveOfferSource, getOfferSource, listOfferSources } from "../services/offer-sources/read.ts";
import { updateOfferSource } from "../services/offer-sources/update.ts";
import { offerSourceTemplates, offerSourceTemplatesOutput } from "../services/templates.ts";
import { authedProcedure, router, serviceMutation, serviceQuery } from "../trpc.ts";

export const offerSourcesRouter = router({
  /** Ready-made settings for well-known affiliate networks: click-ID parameter, postback, status map. */
  templates: authedProcedure.output(offerSourceTemplatesOutput).query(() => offerSourceTemplates()),
  list: serviceQuery(listOfferSources),
  get: serviceQuery(getOfferSource),
  create: serviceMutation(createOfferSource),
  update: serviceMutation(updateOfferSource),
  archive: serviceMutation(archiveOfferSource),
});
