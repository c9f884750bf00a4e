import { updateWorkspaceSettings } from "@hitrail/db";
import { z } from "zod";
import { randomSecret } from "../../auth/tokens.ts";
import { notFound } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { toWorkspaceOutput, workspaceOutput } from "./schemas.ts";

export const setPostbackSecretInput = z.object({
  /** Omitted: a new random secret. null: no secret (postbacks need no `key=`). A string: that secret. */
  secret: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{16,128}$/, { message: "must be 16-128 letters, digits, '_' or '-'" })
    .nullable()
    .optional(),
});

/** Sets the `key=` every postback must carry; the old one stops working at once. */
export const setPostbackSecret = workspaceService({
  role: "admin",
  input: setPostbackSecretInput,
  output: workspaceOutput,
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const secret = input.secret === undefined ? randomSecret(24) : input.secret;
      const row = await updateWorkspaceSettings(tx, {
        workspaceId: ctx.workspace.id,
        values: { postbackSecret: secret },
      });
      if (!row) throw notFound("workspace");
      await audit(tx, ctx, {
        action: secret === null ? "workspace.postback_secret.clear" : "workspace.postback_secret.set",
        entity: "workspace",
        entityId: row.id,
      });
      return toWorkspaceOutput(row, ctx.actor.role);
    }),
});
