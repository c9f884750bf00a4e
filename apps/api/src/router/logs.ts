import { getConversion, listConversions } from "../services/conversions/list.ts";
import { getDelivery, listDeliveries } from "../services/deliveries/list.ts";
import { replayDelivery } from "../services/deliveries/replay.ts";
import { replayDeliveriesSince } from "../services/deliveries/replay-since.ts";
import { listReceivedPostbacks } from "../services/postback-log/list.ts";
import { router, serviceMutation, serviceQuery } from "../trpc.ts";

export const conversionsRouter = router({
  list: serviceQuery(listConversions),
  get: serviceQuery(getConversion),
});

/** The received-postback log. */
export const postbacksRouter = router({
  list: serviceQuery(listReceivedPostbacks),
});

/** The outbound (traffic-source) postback log. */
export const deliveriesRouter = router({
  list: serviceQuery(listDeliveries),
  get: serviceQuery(getDelivery),
  replay: serviceMutation(replayDelivery),
  /** Every dead delivery of a traffic source since a time, sent again. */
  replaySince: serviceMutation(replayDeliveriesSince),
});
