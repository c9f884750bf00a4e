import { listApiKeys as listApiKeyRows } from "@hitrail/db";
import { z } from "zod";
import { inWorkspace, workspaceService } from "../context.ts";
import { apiKeyOutput } from "./schemas.ts";

export const listApiKeys = workspaceService({
  role: "admin",
  input: z.object({}),
  output: z.array(apiKeyOutput),
  run: ({ ctx }) => inWorkspace(ctx, (tx) => listApiKeyRows(tx, { workspaceId: ctx.workspace.id })),
});
