import { bumpFunnelsUsingPage, landerQueries } from "@hitrail/db";
import { notFound } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { pageMacros, requireKnownMacros } from "../macros.ts";
import { landerOutput, toLanderOutput, updateLanderInput } from "./schemas.ts";

export const updateLander = workspaceService({
  role: "member",
  input: updateLanderInput,
  output: landerOutput,
  run: async ({ ctx, input }) => {
    const { row, funnels } = await inWorkspace(ctx, async (tx) => {
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
      // Funnels sending to this page carry its URL and payout: trackers reload them at once.
      const funnels = await bumpFunnelsUsingPage(tx, { workspaceId: ctx.workspace.id, pageId: row.id });
      return { row, funnels };
    });
    await Promise.all(
      funnels.map((f) =>
        ctx.routing?.funnelChanged({ workspaceId: ctx.workspace.id, funnelId: f.id, version: f.version }),
      ),
    );
    return toLanderOutput(row);
  },
});
