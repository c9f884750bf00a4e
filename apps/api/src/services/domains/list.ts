import { listDomains as listDomainRows } from "@hitrail/db";
import { z } from "zod";
import { inWorkspace, workspaceService } from "../context.ts";
import { domainOutput, takenElsewhere, toDomainOutput } from "./schemas.ts";

export const listDomains = workspaceService({
  role: "viewer",
  input: z.object({}),
  output: z.array(domainOutput),
  run: ({ ctx }) =>
    inWorkspace(ctx, async (tx) => {
      const rows = await listDomainRows(tx, { workspaceId: ctx.workspace.id });
      const out = [];
      for (const d of rows) out.push(toDomainOutput(d, await takenElsewhere(tx, d)));
      return out;
    }),
});
