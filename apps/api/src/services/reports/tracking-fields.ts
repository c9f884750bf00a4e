import { reportTrackingFields } from "@hitrail/db";
import { z } from "zod";
import { inWorkspace, workspaceService } from "../context.ts";

/**
 * The tracking field names a report can group by (`field:<name>`), each with the traffic sources
 * that capture it and the entrance parameter each reads it from; `campaign` is always there.
 */
export const listTrackingFields = workspaceService({
  role: "viewer",
  input: z.object({}),
  output: z.array(
    z.object({
      name: z.string(),
      sources: z.array(z.object({ id: z.string(), name: z.string(), param: z.string() })),
    }),
  ),
  run: ({ ctx }) => inWorkspace(ctx, (tx) => reportTrackingFields(tx, ctx.workspace.id)),
});
