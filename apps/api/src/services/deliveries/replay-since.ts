import { deadDeliveryIds, requeueDelivery, trafficSourceQueries } from "@hitrail/db";
import { deliverJob, jobIds } from "@hitrail/queue";
import { z } from "zod";
import { notFound } from "../../errors.ts";
import { id, instant } from "../../schemas/common.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";

/** Most deliveries one call sends again; the answer says when more are left (call again). */
export const MAX_REPLAY = 5_000;

/**
 * Sends every traffic-source postback that ended dead since a time again (the receiver was down,
 * or rejected them until its owner fixed something): each goes back to pending with an outbox row
 * in the same transaction, oldest first, exactly like a single replay.
 */
export const replayDeliveriesSince = workspaceService({
  role: "member",
  input: z.object({ trafficSourceId: id, since: instant }),
  output: z.object({ replayed: z.number().int(), more: z.boolean() }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const source = await trafficSourceQueries.find(tx, {
        workspaceId: ctx.workspace.id,
        id: input.trafficSourceId,
      });
      if (!source) throw notFound("traffic source");
      const ids = await deadDeliveryIds(tx, {
        workspaceId: ctx.workspace.id,
        trafficSourceId: input.trafficSourceId,
        since: new Date(input.since),
        limit: MAX_REPLAY + 1,
      });
      let replayed = 0;
      for (const deliveryId of ids.slice(0, MAX_REPLAY)) {
        const result = await requeueDelivery(tx, {
          workspaceId: ctx.workspace.id,
          deliveryId,
          job: deliverJob(ctx.workspace.id, deliveryId, jobIds.deliverReplay(deliveryId, new Date())),
        });
        if (result.ok) replayed++;
      }
      await audit(tx, ctx, {
        action: "delivery.replay_since",
        entity: "traffic_source",
        entityId: input.trafficSourceId,
        detail: `${replayed} dead deliveries since ${input.since}`,
      });
      return { replayed, more: ids.length > MAX_REPLAY };
    }),
});
