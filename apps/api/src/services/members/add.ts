import { findUserByEmail, insertMembership, insertUser, listMembers } from "@hitrail/db";
import { z } from "zod";
import { hashPassword } from "../../auth/password.ts";
import { roleAtLeast } from "../../auth/roles.ts";
import { randomSecret } from "../../auth/tokens.ts";
import { forbidden } from "../../errors.ts";
import { email } from "../auth/schemas.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { memberOutput, role } from "./schemas.ts";

export const addMemberInput = z.object({
  email,
  role,
  name: z.string().trim().max(200).optional(),
});

/**
 * Adds a user to the workspace. Someone without an account gets one with a random first password,
 * returned once for the admin to hand over (there is no mail server to send an invitation).
 */
export const addMember = workspaceService({
  role: "admin",
  input: addMemberInput,
  output: z.object({ member: memberOutput, initialPassword: z.string().nullable() }),
  run: async ({ ctx, input }) => {
    if (!roleAtLeast(ctx.actor.role, input.role)) {
      throw forbidden(`role: you cannot grant ${input.role}, which is above your own role`);
    }
    const existing = await findUserByEmail(ctx.db, { email: input.email });
    const initialPassword = existing ? null : randomSecret(12);
    const passwordHash = initialPassword ? await hashPassword(initialPassword) : null;
    return inWorkspace(ctx, async (tx) => {
      const userId =
        existing?.id ??
        (
          await insertUser(tx, {
            email: input.email,
            name: input.name || null,
            passwordHash: passwordHash ?? "",
          })
        ).id;
      await insertMembership(tx, { workspaceId: ctx.workspace.id, userId, role: input.role });
      await audit(tx, ctx, {
        action: "member.add",
        entity: "user",
        entityId: userId,
        detail: `${input.email} as ${input.role}${initialPassword ? " (new account)" : ""}`,
      });
      const member = (await listMembers(tx, { workspaceId: ctx.workspace.id })).find(
        (m) => m.userId === userId,
      );
      if (!member) throw new Error("membership vanished inside its own transaction");
      return { member, initialPassword };
    });
  },
});
