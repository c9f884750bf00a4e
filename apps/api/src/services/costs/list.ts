import { listCostUpdates } from "@hitrail/db";
import { z } from "zod";
import { nextCursor } from "../../schemas/common.ts";
import { inWorkspace, workspaceService } from "../context.ts";
import { namesFor } from "./names.ts";
import { costUpdateOutput, listCostsInput, toCostUpdateOutput } from "./schemas.ts";

/** Every cost update, newest first: who, when, scope, range, amount, and whether it still counts. */
export const listCosts = workspaceService({
  role: "viewer",
  input: listCostsInput,
  output: z.object({ items: z.array(costUpdateOutput), nextCursor: z.string().nullable() }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const rows = await listCostUpdates(tx, {
        workspaceId: ctx.workspace.id,
        limit: input.limit,
        before: input.before,
      });
      const names = await namesFor(tx, ctx.workspace.id, rows);
      return {
        items: rows.map((r) => toCostUpdateOutput(r, names)),
        nextCursor: nextCursor(rows, input.limit),
      };
    }),
});
