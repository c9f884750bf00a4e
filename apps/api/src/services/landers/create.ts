import { landerQueries } from "@hitrail/db";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { createLanderInput, landerOutput, toLanderOutput } from "./schemas.ts";

export const createLander = workspaceService({
  role: "member",
  input: createLanderInput,
  output: landerOutput,
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const row = await landerQueries.insert(tx, { workspaceId: ctx.workspace.id, ...input });
      await audit(tx, ctx, { action: "lander.create", entity: "lander", entityId: row.id, detail: row.name });
      return toLanderOutput(row);
    }),
});
