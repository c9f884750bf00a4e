import { landerQueries } from "@hitrail/db";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { pageMacros, requireKnownMacros } from "../macros.ts";
import { createLanderInput, landerOutput, toLanderOutput } from "./schemas.ts";

export const createLander = workspaceService({
  role: "member",
  input: createLanderInput,
  output: landerOutput,
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      requireKnownMacros("Lander URL", input.url, await pageMacros(tx, ctx.workspace.id));
      const row = await landerQueries.insert(tx, { workspaceId: ctx.workspace.id, ...input });
      await audit(tx, ctx, { action: "lander.create", entity: "lander", entityId: row.id, detail: row.name });
      return toLanderOutput(row);
    }),
});
