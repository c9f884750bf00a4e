import { offerSourceQueries } from "@hitrail/db";
import { badRequest } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { offerSourcePostbackParams, requireKnownPostbackParams } from "../macros.ts";
import {
  createOfferSourceInput,
  normalizeStatusMap,
  offerSourceOutput,
  toOfferSourceOutput,
} from "./schemas.ts";

export const createOfferSource = workspaceService({
  role: "member",
  input: createOfferSourceInput,
  output: offerSourceOutput,
  run: ({ ctx, input }) => {
    const { statusMapTemplate, statusMap, ...rest } = input;
    const map = normalizeStatusMap(statusMap, statusMapTemplate);
    if (!map.ok) throw badRequest(map.problems.join("; "), map.problems);
    requireKnownPostbackParams("Postback template", rest.postbackTemplate, offerSourcePostbackParams(rest));
    return inWorkspace(ctx, async (tx) => {
      const row = await offerSourceQueries.insert(tx, {
        workspaceId: ctx.workspace.id,
        ...rest,
        statusMap: map.map,
      });
      await audit(tx, ctx, {
        action: "offer_source.create",
        entity: "offer_source",
        entityId: row.id,
        detail: row.name,
      });
      return toOfferSourceOutput(row);
    });
  },
});
