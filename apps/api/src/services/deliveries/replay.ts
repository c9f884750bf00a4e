import { requeueDelivery } from "@hitrail/db";
import { deliverJob, jobIds } from "@hitrail/queue";
import { z } from "zod";
import { notFound, ServiceError } from "../../errors.ts";
import { id } from "../../schemas/common.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { deliveryOutput } from "./schemas.ts";

/**
 * Sends a finished traffic-source postback again: the delivery goes back to pending and an outbox
 * row (`postback.deliver`, job `deliver-<id>-replay-<n>`) is written in the same transaction, so the
 * worker's relay enqueues it even if we crash right after answering.
 */
export const replayDelivery = workspaceService({
  role: "member",
  input: z.object({ deliveryId: id }),
  output: z.object({ delivery: deliveryOutput, jobId: z.string() }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const result = await requeueDelivery(tx, {
        workspaceId: ctx.workspace.id,
        deliveryId: input.deliveryId,
        job: deliverJob(
          ctx.workspace.id,
          input.deliveryId,
          jobIds.deliverReplay(input.deliveryId, new Date()),
        ),
      });
      if (!result.ok) {
        if (result.reason === "not_found") throw notFound("delivery");
        throw new ServiceError(
          "CONFLICT",
          result.reason === "pending"
            ? "deliveryId: this delivery is still pending; its own job will send it"
            : "deliveryId: this delivery is still being retried; replay it once it is delivered or dead",
        );
      }
      await audit(tx, ctx, {
        action: "delivery.replay",
        entity: "outbound_delivery",
        entityId: result.delivery.id,
        detail: `was ${result.previousStatus}; job ${result.jobId}`,
      });
      return { delivery: result.delivery, jobId: result.jobId };
    }),
});
