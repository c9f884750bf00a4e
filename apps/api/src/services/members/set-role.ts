import { capKeysCreatedBy, listMembers, updateMembershipRole } from "@hitrail/db";
import { z } from "zod";
import { id } from "../../schemas/common.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { memberForChange } from "./rules.ts";
import { memberOutput, role } from "./schemas.ts";

export const setMemberRole = workspaceService({
  role: "admin",
  input: z.object({ userId: id, role }),
  output: memberOutput,
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const before = await memberForChange(tx, ctx, { userId: input.userId, newRole: input.role });
      await updateMembershipRole(tx, {
        workspaceId: ctx.workspace.id,
        userId: input.userId,
        role: input.role,
      });
      // Their keys never outrank them: a lowered member's stronger keys come down with them.
      const capped = await capKeysCreatedBy(tx, {
        workspaceId: ctx.workspace.id,
        userId: input.userId,
        role: input.role,
      });
      await audit(tx, ctx, {
        action: "member.set_role",
        entity: "user",
        entityId: input.userId,
        detail: `${before.role} → ${input.role}${capped.length > 0 ? `; ${capped.length} API key(s) capped` : ""}`,
      });
      const member = (await listMembers(tx, { workspaceId: ctx.workspace.id })).find(
        (m) => m.userId === input.userId,
      );
      if (!member) throw new Error("membership vanished inside its own transaction");
      return member;
    }),
});
