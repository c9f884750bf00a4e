import { offerSourceQueries } from "@hitrail/db";
import { z } from "zod";
import { notFound } from "../../errors.ts";
import { id } from "../../schemas/common.ts";
import { inWorkspace, workspaceService } from "../context.ts";
import { codeDomain } from "./domain.ts";
import { networkPostbackUrl } from "./offer.ts";

/** The postback URL to give an offer source's network, built as the offer codes build it. */
export const offerSourceCodes = workspaceService({
  role: "viewer",
  input: z.object({ offerSourceId: id, domainId: id.optional() }),
  output: z.object({ postbackUrl: z.string().nullable() }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const source = await offerSourceQueries.find(tx, {
        workspaceId: ctx.workspace.id,
        id: input.offerSourceId,
      });
      if (!source) throw notFound("offer source");
      const domain = await codeDomain(tx, ctx, input.domainId);
      return { postbackUrl: networkPostbackUrl(ctx, domain, source.postbackTemplate) };
    }),
});
