import { eventAliasTaken, eventTypeQueries } from "@hitrail/db";
import { conflict, notFound } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { eventTypeOutput, toEventTypeOutput, updateEventTypeInput } from "./schemas.ts";

export const updateEventType = workspaceService({
  role: "member",
  input: updateEventTypeInput,
  output: eventTypeOutput,
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const { eventTypeId, ...changes } = input;
      if (
        changes.alias !== undefined &&
        (await eventAliasTaken(tx, {
          workspaceId: ctx.workspace.id,
          alias: changes.alias,
          exceptId: eventTypeId,
        }))
      ) {
        throw conflict(`alias: '${changes.alias}' is already used by another event type`);
      }
      const values = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
      const row = await eventTypeQueries.update(tx, {
        workspaceId: ctx.workspace.id,
        id: eventTypeId,
        values,
      });
      if (!row) throw notFound("custom event type");
      await audit(tx, ctx, {
        action: "custom_event_type.update",
        entity: "custom_event_type",
        entityId: row.id,
        detail: `changed ${Object.keys(values).join(", ") || "nothing"}`,
      });
      return toEventTypeOutput(row);
    }),
});
