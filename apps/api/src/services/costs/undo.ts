import { undoCostUpdate } from "@hitrail/db";
import { z } from "zod";
import { conflict, notFound } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { costActor, namesFor } from "./names.ts";
import { costUpdateOutput, id, toCostUpdateOutput } from "./schemas.ts";

/** Takes a cost update back: its visits cost again exactly what they cost before it. */
export const undoCost = workspaceService({
  role: "member",
  input: z.object({ updateId: id }),
  output: costUpdateOutput,
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const result = await undoCostUpdate(tx, {
        workspaceId: ctx.workspace.id,
        updateId: input.updateId,
        actor: costActor(ctx),
      });
      if (!result.ok) {
        if (result.reason === "not_found") throw notFound("cost update");
        throw conflict("updateId: this cost update is already undone");
      }
      await audit(tx, ctx, { action: "cost_update.undo", entity: "cost_update", entityId: input.updateId });
      return toCostUpdateOutput(result.update, await namesFor(tx, ctx.workspace.id, [result.update]));
    }),
});
