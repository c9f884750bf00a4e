import { trafficSourceQueries } from "@hitrail/db";
import { badRequest, notFound } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { requireKnownMacros, trafficSourcePostbackMacros } from "../macros.ts";
import {
  type TrackingFieldInput,
  toTrafficSourceOutput,
  trafficSourceOutput,
  trafficSourceProblems,
  updateTrafficSourceInput,
} from "./schemas.ts";

/** Changes only the fields sent; the result is checked whole, as if it were created that way. */
export const updateTrafficSource = workspaceService({
  role: "member",
  input: updateTrafficSourceInput,
  output: trafficSourceOutput,
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const { trafficSourceId, ...changes } = input;
      const current = await trafficSourceQueries.find(tx, {
        workspaceId: ctx.workspace.id,
        id: trafficSourceId,
      });
      if (!current) throw notFound("traffic source");
      const values = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
      const problems = trafficSourceProblems({
        externalParam: changes.externalParam ?? current.externalParam,
        campaignParam: changes.campaignParam ?? current.campaignParam,
        costParam: changes.costParam ?? current.costParam,
        trackingFields: changes.trackingFields ?? (current.trackingFields as TrackingFieldInput[]),
      });
      if (problems.length > 0) throw badRequest(problems.join("; "), problems);
      // A changed URL, or tracking fields it may have used: the result is checked whole.
      if (changes.postbackUrl !== undefined || changes.trackingFields !== undefined) {
        requireKnownMacros(
          "Postback URL",
          changes.postbackUrl === undefined ? current.postbackUrl : changes.postbackUrl,
          trafficSourcePostbackMacros(
            changes.trackingFields ?? (current.trackingFields as TrackingFieldInput[]),
          ),
        );
      }
      const row = await trafficSourceQueries.update(tx, {
        workspaceId: ctx.workspace.id,
        id: current.id,
        values,
      });
      if (!row) throw notFound("traffic source");
      await audit(tx, ctx, {
        action: "traffic_source.update",
        entity: "traffic_source",
        entityId: row.id,
        detail: `changed ${Object.keys(values).join(", ") || "nothing"}`,
      });
      return toTrafficSourceOutput(row);
    }),
});
