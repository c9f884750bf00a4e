import { landerQueries } from "@hitrail/db";
import { notFound } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { pageMacros, requireKnownMacros } from "../macros.ts";
import { landerOutput, toLanderOutput, updateLanderInput } from "./schemas.ts";

export const updateLander = workspaceService({
  role: "member",
  input: updateLanderInput,
  output: landerOutput,
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const { landerId, ...changes } = input;
      const values = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
      if (changes.url !== undefined)
        requireKnownMacros("Lander URL", changes.url, await pageMacros(tx, ctx.workspace.id));
      const row = await landerQueries.update(tx, { workspaceId: ctx.workspace.id, id: landerId, values });
      if (!row) throw notFound("lander");
      await audit(tx, ctx, {
        action: "lander.update",
        entity: "lander",
        entityId: row.id,
        detail: `changed ${Object.keys(values).join(", ") || "nothing"}`,
      });
      return toLanderOutput(row);
    }),
});
