import { offerQueries } from "@hitrail/db";
import { notFound } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { pageMacros, requireKnownMacros } from "../macros.ts";
import { requireOfferSource } from "./create.ts";
import { offerOutput, toOfferOutput, updateOfferInput } from "./schemas.ts";

export const updateOffer = workspaceService({
  role: "member",
  input: updateOfferInput,
  output: offerOutput,
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
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
      return toOfferOutput(row);
    }),
});
