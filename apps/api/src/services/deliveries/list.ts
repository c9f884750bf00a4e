import { findDelivery, listDeliveryAttempts, listDeliveryLog } from "@hitrail/db";
import { z } from "zod";
import { notFound } from "../../errors.ts";
import { id, instant, nextCursor, page } from "../../schemas/common.ts";
import { inWorkspace, workspaceService } from "../context.ts";
import { attemptOutput, deliveryOutput, deliveryStatus } from "./schemas.ts";

/** Traffic-source postbacks newest first, each with every attempt (status code, latency, error). */
export const listDeliveries = workspaceService({
  role: "viewer",
  input: z.object({
    status: deliveryStatus.optional(),
    conversionId: id.optional(),
    trafficSourceId: id.optional(),
    from: instant.optional(),
    to: instant.optional(),
    ...page,
  }),
  output: z.object({
    items: z.array(deliveryOutput.extend({ attemptLog: z.array(attemptOutput) })),
    nextCursor: z.string().nullable(),
  }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const items = await listDeliveryLog(tx, { workspaceId: ctx.workspace.id, ...input });
      return { items, nextCursor: nextCursor(items, input.limit) };
    }),
});

export const getDelivery = workspaceService({
  role: "viewer",
  input: z.object({ deliveryId: id }),
  output: deliveryOutput.extend({ attemptLog: z.array(attemptOutput) }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const delivery = await findDelivery(tx, {
        workspaceId: ctx.workspace.id,
        deliveryId: input.deliveryId,
      });
      if (!delivery) throw notFound("delivery");
      const attemptLog = await listDeliveryAttempts(tx, {
        workspaceId: ctx.workspace.id,
        deliveryId: delivery.id,
      });
      return { ...delivery, attemptLog };
    }),
});
