import { deleteUserSessions, findUserPasswordHash, updateUserPassword } from "@hitrail/db";
import { z } from "zod";
import { hashPassword, MAX_PASSWORD_LENGTH, verifyPassword } from "../../auth/password.ts";
import { badRequest, ServiceError } from "../../errors.ts";
import type { AccountContext, UserPrincipal } from "../account.ts";
import { parseInput } from "../context.ts";
import { newPassword } from "./schemas.ts";

export const changePasswordInput = z.object({
  currentPassword: z.string().min(1, { message: "must not be empty" }).max(MAX_PASSWORD_LENGTH),
  newPassword,
});

/** Changes the password and signs the user out everywhere else (a stolen session dies with it). */
export async function changePassword({
  ctx,
  input,
}: {
  ctx: AccountContext & { principal: UserPrincipal };
  input: z.input<typeof changePasswordInput>;
}) {
  const data = parseInput(changePasswordInput, input);
  await ctx.limits.passwordCheck(ctx.principal.userId);
  const current = await findUserPasswordHash(ctx.db, { userId: ctx.principal.userId });
  if (!current || !(await verifyPassword(current, data.currentPassword))) {
    throw new ServiceError("UNAUTHORIZED", "currentPassword: the current password is wrong");
  }
  if (data.newPassword === data.currentPassword) {
    throw badRequest("newPassword: must differ from the current password");
  }
  const passwordHash = await hashPassword(data.newPassword);
  await ctx.db.transaction(async (tx) => {
    await updateUserPassword(tx, { userId: ctx.principal.userId, passwordHash });
    await deleteUserSessions(tx, { userId: ctx.principal.userId, exceptSessionId: ctx.principal.sessionId });
  });
  return { ok: true as const };
}
