import { type Executor, offerQueries, offerSourceQueries } from "@hitrail/db";
import { notFound } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { pageMacros, requireKnownMacros } from "../macros.ts";
import { createOfferInput, offerOutput, toOfferOutput } from "./schemas.ts";

/** An offer may name only an offer source of its own workspace; any other id is "not found". */
export async function requireOfferSource(tx: Executor, workspaceId: string, offerSourceId: string | null) {
  if (offerSourceId === null) return;
  const source = await offerSourceQueries.find(tx, { workspaceId, id: offerSourceId });
  if (!source) throw notFound("offerSourceId: offer source");
}

export const createOffer = workspaceService({
  role: "member",
  input: createOfferInput,
  output: offerOutput,
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      await requireOfferSource(tx, ctx.workspace.id, input.offerSourceId);
      requireKnownMacros("Offer URL", input.url, await pageMacros(tx, ctx.workspace.id));
      const row = await offerQueries.insert(tx, { workspaceId: ctx.workspace.id, ...input });
      await audit(tx, ctx, { action: "offer.create", entity: "offer", entityId: row.id, detail: row.name });
      return toOfferOutput(row);
    }),
});
