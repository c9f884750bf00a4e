import { findApiKeyListing, findKeyCreator, createApiKey as insertApiKey } from "@hitrail/db";
import { z } from "zod";
import { roleAtLeast } from "../../auth/roles.ts";
import { forbidden } from "../../errors.ts";
import { name } from "../../schemas/common.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { role } from "../members/schemas.ts";
import { apiKeyOutput, withCreators } from "./schemas.ts";

/** A key for automation, scoped to this workspace. The key itself is in the answer once, never again. */
export const createApiKey = workspaceService({
  role: "admin",
  input: z.object({ name, role: role.default("member") }),
  output: z.object({ apiKey: apiKeyOutput, key: z.string() }),
  run: async ({ ctx, input }) => {
    if (!roleAtLeast(ctx.actor.role, input.role)) {
      throw forbidden(`role: you cannot create a key with ${input.role}, which is above your own role`);
    }
    const created = await inWorkspace(ctx, async (tx) => {
      // A key made by a key acts for the same member as its maker, so it dies with them too.
      const createdByUserId =
        ctx.actor.kind === "user"
          ? ctx.actor.userId
          : await findKeyCreator(tx, { apiKeyId: ctx.actor.apiKeyId });
      const { id, key } = await insertApiKey(tx, {
        workspaceId: ctx.workspace.id,
        name: input.name,
        role: input.role,
        ...(createdByUserId ? { createdByUserId } : {}),
      });
      await audit(tx, ctx, { action: "api_key.create", entity: "api_key", entityId: id, detail: input.role });
      const apiKey = await findApiKeyListing(tx, { workspaceId: ctx.workspace.id, apiKeyId: id });
      if (!apiKey) throw new Error("api key vanished inside its own transaction");
      return { apiKey, key };
    });
    const [apiKey] = await withCreators(ctx.db, [created.apiKey]);
    if (!apiKey) throw new Error("withCreators dropped a key");
    return { apiKey, key: created.key };
  },
});
