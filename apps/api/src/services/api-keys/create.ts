import { findApiKeyListing, createApiKey as insertApiKey } from "@hitrail/db";
import { z } from "zod";
import { roleAtLeast } from "../../auth/roles.ts";
import { forbidden } from "../../errors.ts";
import { name } from "../../schemas/common.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { role } from "../members/schemas.ts";
import { apiKeyOutput } from "./schemas.ts";

/** A key for automation, scoped to this workspace. The key itself is in the answer once, never again. */
export const createApiKey = workspaceService({
  role: "admin",
  input: z.object({ name, role: role.default("member") }),
  output: z.object({ apiKey: apiKeyOutput, key: z.string() }),
  run: async ({ ctx, input }) => {
    if (!roleAtLeast(ctx.actor.role, input.role)) {
      throw forbidden(`role: you cannot create a key with ${input.role}, which is above your own role`);
    }
    return inWorkspace(ctx, async (tx) => {
      const { id, key } = await insertApiKey(tx, {
        workspaceId: ctx.workspace.id,
        name: input.name,
        role: input.role,
        ...(ctx.actor.kind === "user" ? { createdByUserId: ctx.actor.userId } : {}),
      });
      await audit(tx, ctx, { action: "api_key.create", entity: "api_key", entityId: id, detail: input.role });
      const apiKey = await findApiKeyListing(tx, { workspaceId: ctx.workspace.id, apiKeyId: id });
      if (!apiKey) throw new Error("api key vanished inside its own transaction");
      return { apiKey, key };
    });
  },
});
