import { listMembers as listMemberRows } from "@hitrail/db";
import { z } from "zod";
import { inWorkspace, workspaceService } from "../context.ts";
import { memberOutput } from "./schemas.ts";

// Members join users, which belong to no workspace and so are outside row-level security; the
// memberships side is held to the workspace like every tenant table.

export const listMembers = workspaceService({
  role: "admin",
  input: z.object({}),
  output: z.array(memberOutput),
  run: ({ ctx }) => inWorkspace(ctx, (tx) => listMemberRows(tx, { workspaceId: ctx.workspace.id })),
});
