import { listAuditLog } from "@hitrail/db";
import { z } from "zod";
import { isoTime, nextCursor, page } from "../../schemas/common.ts";
import { inWorkspace, workspaceService } from "../context.ts";

export const auditEntryOutput = z.object({
  id: z.string(),
  actorUserId: z.string().nullable(),
  actorApiKeyId: z.string().nullable(),
  action: z.string(),
  entity: z.string(),
  entityId: z.string().nullable(),
  detail: z.string().nullable(),
  isSystem: z.boolean(),
  createdAt: isoTime,
});

export const listAudit = workspaceService({
  role: "admin",
  input: z.object({ ...page }),
  output: z.object({ items: z.array(auditEntryOutput), nextCursor: z.string().nullable() }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const items = await listAuditLog(tx, { workspaceId: ctx.workspace.id, ...input });
      return { items, nextCursor: nextCursor(items, input.limit) };
    }),
});
