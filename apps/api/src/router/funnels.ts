import { cloneFunnel } from "../services/funnels/clone.ts";
import { archiveFunnel, getFunnel, listFunnels } from "../services/funnels/read.ts";
import { saveFunnel } from "../services/funnels/save.ts";
import { funnelStats } from "../services/funnels/stats.ts";
import { router, serviceMutation, serviceQuery } from "../trpc.ts";

export const funnelsRouter = router({
  list: serviceQuery(listFunnels),
  get: serviceQuery(getFunnel),
  /** Creates (no funnelId) or replaces a whole graph; a graph that strands visitors is refused. */
  save: serviceMutation(saveFunnel),
  /** archived: false restores. */
  archive: serviceMutation(archiveFunnel),
  clone: serviceMutation(cloneFunnel),
  /** Each node's visits, conversions and revenue over local dates (the builder's overlay). */
  stats: serviceQuery(funnelStats),
});
