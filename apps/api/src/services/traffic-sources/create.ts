import { trafficSourceQueries } from "@hitrail/db";
import { badRequest } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { requireKnownMacros, trafficSourcePostbackMacros } from "../macros.ts";
import {
  createTrafficSourceInput,
  toTrafficSourceOutput,
  trafficSourceOutput,
  trafficSourceProblems,
} from "./schemas.ts";

export const createTrafficSource = workspaceService({
  role: "member",
  input: createTrafficSourceInput,
  output: trafficSourceOutput,
  run: ({ ctx, input }) => {
    const problems = trafficSourceProblems(input);
    if (problems.length > 0) throw badRequest(problems.join("; "), problems);
    requireKnownMacros("Postback URL", input.postbackUrl, trafficSourcePostbackMacros(input.trackingFields));
    return inWorkspace(ctx, async (tx) => {
      const row = await trafficSourceQueries.insert(tx, { workspaceId: ctx.workspace.id, ...input });
      await audit(tx, ctx, {
        action: "traffic_source.create",
        entity: "traffic_source",
        entityId: row.id,
        detail: row.name,
      });
      return toTrafficSourceOutput(row);
    });
  },
});
