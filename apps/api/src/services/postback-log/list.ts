import { listPostbackLog } from "@hitrail/db";
import { z } from "zod";
import { id, instant, isoTime, nextCursor, page } from "../../schemas/common.ts";
import { inWorkspace, workspaceService } from "../context.ts";

const outcome = z.enum(["created", "updated", "deleted", "restored", "ignored", "rejected"]);

/** Every postback (and tag conversion) received, with its outcome and the reason in plain words. */
export const listReceivedPostbacks = workspaceService({
  role: "viewer",
  input: z.object({
    hitId: id.optional(),
    tx: z.string().max(255).optional(),
    outcome: outcome.optional(),
    statusWord: z.string().trim().max(64).optional(),
    /** Words the reason contains, e.g. "hit not found" or "unknown status". */
    reason: z.string().trim().min(1).max(200).optional(),
    channel: z.enum(["postback", "tag", "action"]).optional(),
    from: instant.optional(),
    to: instant.optional(),
    ...page,
  }),
  output: z.object({
    items: z.array(
      z.object({
        id: z.string(),
        receivedAt: isoTime,
        method: z.string(),
        channel: z.string(),
        ip: z.string().nullable(),
        params: z.record(z.string(), z.unknown()),
        hitId: z.string().nullable(),
        visitorId: z.string().nullable(),
        tx: z.string().nullable(),
        statusWord: z.string().nullable(),
        outcome,
        reason: z.string().nullable(),
        httpStatus: z.number().int(),
        conversionId: z.string().nullable(),
      }),
    ),
    nextCursor: z.string().nullable(),
  }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const items = await listPostbackLog(tx, { workspaceId: ctx.workspace.id, ...input });
      return { items, nextCursor: nextCursor(items, input.limit) };
    }),
});
