import { listDomains as listDomainRows } from "@hitrail/db";
import { z } from "zod";
import { inWorkspace, workspaceService } from "../context.ts";
import { domainOutput, toDomainOutput } from "./schemas.ts";

export const listDomains = workspaceService({
  role: "viewer",
  input: z.object({}),
  output: z.array(domainOutput),
  run: ({ ctx }) =>
    inWorkspace(ctx, async (tx) =>
      (await listDomainRows(tx, { workspaceId: ctx.workspace.id })).map(toDomainOutput),
    ),
});
