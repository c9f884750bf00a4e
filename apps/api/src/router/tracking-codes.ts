import { entranceLink } from "../services/tracking-codes/entrance-link.ts";
import { funnelPageCodes } from "../services/tracking-codes/funnel-pages.ts";
import { getTrackingCodes } from "../services/tracking-codes/get.ts";
import { listMacros } from "../services/tracking-codes/macros.ts";
import { offerCodes } from "../services/tracking-codes/offer.ts";
import { offerSourceCodes } from "../services/tracking-codes/offer-source.ts";
import { pageTag } from "../services/tracking-codes/page-tag.ts";
import { router, serviceQuery } from "../trpc.ts";

export const trackingCodesRouter = router({
  get: serviceQuery(getTrackingCodes),
  entranceLink: serviceQuery(entranceLink),
  pageTag: serviceQuery(pageTag),
  offer: serviceQuery(offerCodes),
  funnelPages: serviceQuery(funnelPageCodes),
  macros: serviceQuery(listMacros),
  offerSource: serviceQuery(offerSourceCodes),
});
