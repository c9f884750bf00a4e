import { z } from "zod";
import { workspaceService } from "../context.ts";
import { toWorkspaceOutput, workspaceOutput } from "./schemas.ts";

export const getWorkspace = workspaceService({
  role: "viewer",
  input: z.object({}),
  output: workspaceOutput,
  run: async ({ ctx }) => toWorkspaceOutput(ctx.workspace, ctx.actor.role),
});
