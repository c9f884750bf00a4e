import { applyCostFile, describeCostFileProblems } from "@hitrail/db";
import { z } from "zod";
import { badRequest } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { costActor, namesFor } from "./names.ts";
import { costUpdateOutput, toCostUpdateOutput, uploadCostsInput } from "./schemas.ts";

/**
 * A cost file (`date,source,<field>,amount`): one cost update per line, each a whole local day of a
 * traffic source (or of one value of its tracking field). All or nothing: a file with any bad line
 * changes nothing and the answer lists every bad line with its number and reason.
 */
export const uploadCosts = workspaceService({
  role: "member",
  input: uploadCostsInput,
  output: z.object({
    fileName: z.string(),
    field: z.string().nullable(),
    updates: z.array(costUpdateOutput),
  }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const result = await applyCostFile(tx, {
        workspaceId: ctx.workspace.id,
        timeZone: ctx.workspace.timeZone,
        csv: input.csv,
        fileName: input.fileName,
        origin: "api",
        actor: costActor(ctx),
      });
      if (result.problems.length > 0) {
        // Thrown inside the transaction: the lines already applied are rolled back with it.
        throw badRequest(`csv: nothing was changed; ${describeCostFileProblems(result.problems)}`, {
          problems: result.problems,
        });
      }
      await audit(tx, ctx, {
        action: "cost_update.upload",
        entity: "cost_update",
        detail: `${input.fileName}: ${result.updates.length} cost(s)`,
      });
      const names = await namesFor(tx, ctx.workspace.id, result.updates);
      return {
        fileName: input.fileName,
        field: result.field,
        updates: result.updates.map((u) => toCostUpdateOutput(u, names)),
      };
    }),
});
