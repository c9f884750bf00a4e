import { listApiKeys as listApiKeyRows } from "@hitrail/db";
import { z } from "zod";
import { inWorkspace, workspaceService } from "../context.ts";
import { apiKeyOutput, withCreators } from "./schemas.ts";

export const listApiKeys = workspaceService({
  role: "admin",
  input: z.object({}),
  output: z.array(apiKeyOutput),
  run: async ({ ctx }) =>
    withCreators(
      ctx.db,
      await inWorkspace(ctx, (tx) => listApiKeyRows(tx, { workspaceId: ctx.workspace.id })),
    ),
});
