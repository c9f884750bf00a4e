import { bumpFunnelsUsingPage, offerQueries } from "@hitrail/db";
import { notFound } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { pageMacros, requireKnownMacros } from "../macros.ts";
import { requireOfferSource } from "./create.ts";
import { offerOutput, toOfferOutput, updateOfferInput } from "./schemas.ts";

export const updateOffer = workspaceService({
  role: "member",
  input: updateOfferInput,
  output: offerOutput,
  run: async ({ ctx, input }) => {
    const { row, funnels } = await inWorkspace(ctx, async (tx) => {
      const { offerId, ...changes } = input;
      const values = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
      if (changes.url !== undefined)
        requireKnownMacros("Offer URL", changes.url, await pageMacros(tx, ctx.workspace.id));
      if (changes.offerSourceId !== undefined)
        await requireOfferSource(tx, ctx.workspace.id, changes.offerSourceId);
      const row = await offerQueries.update(tx, { workspaceId: ctx.workspace.id, id: offerId, values });
      if (!row) throw notFound("offer");
      await audit(tx, ctx, {
        action: "offer.update",
        entity: "offer",
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
    return toOfferOutput(row);
  },
});
