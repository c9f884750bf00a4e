import { findApiKeyListing, revokeApiKey as revokeApiKeyRow } from "@hitrail/db";
import { z } from "zod";
import { roleAtLeast } from "../../auth/roles.ts";
import { forbidden, notFound } from "../../errors.ts";
import { id } from "../../schemas/common.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { apiKeyOutput, withCreators } from "./schemas.ts";

/** Revokes a key at once (the next request with it is anonymous); revoking twice is harmless. */
export const revokeApiKey = workspaceService({
  role: "admin",
  input: z.object({ apiKeyId: id }),
  output: apiKeyOutput,
  run: async ({ ctx, input }) => {
    const key = await inWorkspace(ctx, async (tx) => {
      const key = await findApiKeyListing(tx, { workspaceId: ctx.workspace.id, apiKeyId: input.apiKeyId });
      if (!key) throw notFound("API key");
      if (!roleAtLeast(ctx.actor.role, key.role)) {
        throw forbidden(`apiKeyId: this key has the ${key.role} role, above your own`);
      }
      if (key.revokedAt) return key;
      const revoked = await revokeApiKeyRow(tx, { workspaceId: ctx.workspace.id, apiKeyId: key.id });
      await audit(tx, ctx, {
        action: "api_key.revoke",
        entity: "api_key",
        entityId: key.id,
        detail: key.name,
      });
      return revoked ?? key;
    });
    const [listed] = await withCreators(ctx.db, [key]);
    if (!listed) throw new Error("withCreators dropped a key");
    return listed;
  },
});
