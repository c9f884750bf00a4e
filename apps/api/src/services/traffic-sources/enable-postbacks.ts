import { resumeTrafficSourcePostbacks } from "@hitrail/db";
import { deliverJob, jobIds } from "@hitrail/queue";
import { z } from "zod";
import { notFound } from "../../errors.ts";
import { id } from "../../schemas/common.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";

/**
 * Re-enables a traffic source's postback endpoint after it was disabled for failing too long (or
 * clears a 410 flag): every paused delivery is sent, oldest first, through the outbox.
 */
export const enableTrafficSourcePostbacks = workspaceService({
  role: "admin",
  input: z.object({ trafficSourceId: id }),
  output: z.object({ resumed: z.number().int() }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const at = new Date();
      const result = await resumeTrafficSourcePostbacks(tx, {
        workspaceId: ctx.workspace.id,
        trafficSourceId: input.trafficSourceId,
        jobFor: (deliveryId) =>
          deliverJob(ctx.workspace.id, deliveryId, jobIds.deliverResume(deliveryId, at)),
      });
      if (!result.found) throw notFound("traffic source");
      await audit(tx, ctx, {
        action: "traffic_source.enable_postbacks",
        entity: "traffic_source",
        entityId: input.trafficSourceId,
        detail: `${result.resumed} paused deliveries resumed`,
      });
      return { resumed: result.resumed };
    }),
});
