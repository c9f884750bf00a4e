import { eventAliasTaken, eventTypeQueries } from "@hitrail/db";
import { conflict } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { createEventTypeInput, eventTypeOutput, toEventTypeOutput } from "./schemas.ts";

export const createEventType = workspaceService({
  role: "member",
  input: createEventTypeInput,
  output: eventTypeOutput,
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      // The schema has no unique index on aliases (archived types keep theirs), so live ones are checked here.
      if (await eventAliasTaken(tx, { workspaceId: ctx.workspace.id, alias: input.alias })) {
        throw conflict(`alias: '${input.alias}' is already used by another event type`);
      }
      const row = await eventTypeQueries.insert(tx, { workspaceId: ctx.workspace.id, ...input });
      await audit(tx, ctx, {
        action: "custom_event_type.create",
        entity: "custom_event_type",
        entityId: row.id,
        detail: row.alias,
      });
      return toEventTypeOutput(row);
    }),
});
