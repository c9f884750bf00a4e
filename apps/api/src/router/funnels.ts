import { archiveFunnel, getFunnel, listFunnels } from "../services/funnels/read.ts";
import { saveFunnel } from "../services/funnels/save.ts";
import { router, serviceMutation, serviceQuery } from "../trpc.ts";

export const funnelsRouter = router({
  list: serviceQuery(listFunnels),
  get: serviceQuery(getFunnel),
  /** Creates (no funnelId) or replaces a whole graph; a graph that strands visitors is refused. */
  save: serviceMutation(saveFunnel),
  archive: serviceMutation(archiveFunnel),
});
