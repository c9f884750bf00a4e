import { listMembers as listMemberRows } from "@hitrail/db";
import { z } from "zod";
import { workspaceService } from "../context.ts";
import { memberOutput } from "./schemas.ts";

// Members join users, which belong to no workspace and so are outside row-level security: these
// queries run on the owner connection with the workspace filter in every statement.

export const listMembers = workspaceService({
  role: "admin",
  input: z.object({}),
  output: z.array(memberOutput),
  run: ({ ctx }) => listMemberRows(ctx.db, { workspaceId: ctx.workspace.id }),
});
