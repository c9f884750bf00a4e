import { trafficSourceTemplates, trafficSourceTemplatesOutput } from "../services/templates.ts";
import { createTrafficSource } from "../services/traffic-sources/create.ts";
import { enableTrafficSourcePostbacks } from "../services/traffic-sources/enable-postbacks.ts";
import {
  archiveTrafficSource,
  getTrafficSource,
  listTrafficSources,
} from "../services/traffic-sources/read.ts";
import { updateTrafficSource } from "../services/traffic-sources/update.ts";
import { authedProcedure, router, serviceMutation, serviceQuery } from "../trpc.ts";

export const trafficSourcesRouter = router({
  /** Ready-made settings for well-known ad networks, with their real click-ID macros. */
  templates: authedProcedure.output(trafficSourceTemplatesOutput).query(() => trafficSourceTemplates()),
  list: serviceQuery(listTrafficSources),
  get: serviceQuery(getTrafficSource),
  create: serviceMutation(createTrafficSource),
  update: serviceMutation(updateTrafficSource),
  archive: serviceMutation(archiveTrafficSource),
  /** Re-enable a disabled postback endpoint: its paused deliveries are sent. */
  enablePostbacks: serviceMutation(enableTrafficSourcePostbacks),
});
