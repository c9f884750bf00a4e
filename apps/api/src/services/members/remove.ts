import { deleteMembership, revokeKeysCreatedBy } from "@hitrail/db";
import { z } from "zod";
import { id } from "../../schemas/common.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { memberForChange } from "./rules.ts";

/** Removes a member and revokes every API key they made in the workspace, in one transaction. */
export const removeMember = workspaceService({
  role: "admin",
  input: z.object({ userId: id }),
  output: z.object({ removed: z.literal(true) }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const before = await memberForChange(tx, ctx, { userId: input.userId, newRole: null });
      await deleteMembership(tx, { workspaceId: ctx.workspace.id, userId: input.userId });
      // The member's API keys leave with them.
      const revoked = await revokeKeysCreatedBy(tx, { workspaceId: ctx.workspace.id, userId: input.userId });
      await audit(tx, ctx, {
        action: "member.remove",
        entity: "user",
        entityId: input.userId,
        detail: revoked.length > 0 ? `${before.role}; revoked ${revoked.length} API key(s)` : before.role,
      });
      return { removed: true as const };
    }),
});
