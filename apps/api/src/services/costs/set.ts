import { applyCostUpdate, findFunnel, trafficSourceQueries } from "@hitrail/db";
import { z } from "zod";
import { badRequest, notFound } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { costActor, namesFor } from "./names.ts";
import { costUpdateOutput, setCostInput, toCostUpdateOutput } from "./schemas.ts";

/**
 * Sets the cost of a traffic source, a funnel or a tracking-field value (or a combination) over a
 * range of the workspace's local time: a total spread over the range's entrance visits, or a price
 * per visit. It replaces, for those visits, what their clicks carried and any earlier update.
 */
export const setCost = workspaceService({
  role: "member",
  input: setCostInput,
  output: costUpdateOutput.extend({
    /** What to know about the update: a range that ends in the future. */
    notes: z.array(z.string()),
  }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const workspaceId = ctx.workspace.id;
      if (
        input.trafficSourceId &&
        !(await trafficSourceQueries.find(tx, { workspaceId, id: input.trafficSourceId }))
      )
        throw notFound("traffic source");
      if (input.funnelId && !(await findFunnel(tx, { workspaceId, funnelId: input.funnelId })))
        throw notFound("funnel");
      const result = await applyCostUpdate(tx, {
        workspaceId,
        scope: {
          trafficSourceId: input.trafficSourceId ?? null,
          funnelId: input.funnelId ?? null,
          field: input.field ?? null,
        },
        timeZone: ctx.workspace.timeZone,
        localStart: input.localStart,
        localEnd: input.localEnd,
        mode: input.mode,
        amount: input.amount,
        origin: "api",
        actor: costActor(ctx),
      });
      if (!result.ok) {
        throw badRequest(
          `from: no visits match this cost between ${input.localStart} and ${input.localEnd} (${ctx.workspace.timeZone}); there is nothing to spread it over`,
        );
      }
      await audit(tx, ctx, {
        action: "cost_update.create",
        entity: "cost_update",
        entityId: result.update.id,
        detail: `${result.update.mode} ${result.update.amount} over ${result.update.visits} visits`,
      });
      const notes =
        result.update.endsAt.getTime() > Date.now()
          ? [
              `the range ends in the future (${input.localEnd}, ${ctx.workspace.timeZone}): visits after now keep their click's cost until this cost is set again`,
            ]
          : [];
      return {
        ...toCostUpdateOutput(result.update, await namesFor(tx, workspaceId, [result.update])),
        notes,
      };
    }),
});
