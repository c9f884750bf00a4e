import { offerSourceQueries } from "@hitrail/db";
import { badRequest, notFound } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { offerSourcePostbackParams, requireKnownPostbackParams } from "../macros.ts";
import {
  normalizeStatusMap,
  offerSourceOutput,
  toOfferSourceOutput,
  updateOfferSourceInput,
} from "./schemas.ts";

export const updateOfferSource = workspaceService({
  role: "member",
  input: updateOfferSourceInput,
  output: offerSourceOutput,
  run: ({ ctx, input }) => {
    const { offerSourceId, statusMap, ...changes } = input;
    const values: Record<string, unknown> = Object.fromEntries(
      Object.entries(changes).filter(([, v]) => v !== undefined),
    );
    if (statusMap !== undefined) {
      const map = normalizeStatusMap(statusMap, undefined);
      if (!map.ok) throw badRequest(map.problems.join("; "), map.problems);
      values.statusMap = map.map;
    }
    return inWorkspace(ctx, async (tx) => {
      if (
        changes.postbackTemplate !== undefined ||
        changes.statusParam !== undefined ||
        changes.conversionTimeParam !== undefined
      ) {
        const current = await offerSourceQueries.find(tx, {
          workspaceId: ctx.workspace.id,
          id: offerSourceId,
        });
        if (!current) throw notFound("offer source");
        const next = { ...current, ...values } as typeof current;
        requireKnownPostbackParams(
          "Postback template",
          next.postbackTemplate,
          offerSourcePostbackParams(next),
        );
      }
      const row = await offerSourceQueries.update(tx, {
        workspaceId: ctx.workspace.id,
        id: offerSourceId,
        values,
      });
      if (!row) throw notFound("offer source");
      await audit(tx, ctx, {
        action: "offer_source.update",
        entity: "offer_source",
        entityId: row.id,
        detail: `changed ${Object.keys(values).join(", ") || "nothing"}`,
      });
      return toOfferSourceOutput(row);
    });
  },
});
