import { findUserByEmail } from "@hitrail/db";
import { z } from "zod";
import { burnPasswordCheck, MAX_PASSWORD_LENGTH, verifyPassword } from "../../auth/password.ts";
import { ServiceError } from "../../errors.ts";
import type { AccountContext } from "../account.ts";
import { parseInput } from "../context.ts";
import { email } from "./schemas.ts";
import { startSession } from "./session.ts";

export const signInInput = z.object({
  email,
  password: z.string().min(1, { message: "must not be empty" }).max(MAX_PASSWORD_LENGTH),
});

/**
 * Checks the password and opens a session; an unknown email and a wrong password look the same,
 * and both count against the account's and the address's attempt limits before any check runs.
 */
export async function signIn({ ctx, input }: { ctx: AccountContext; input: z.input<typeof signInInput> }) {
  const data = parseInput(signInInput, input);
  await ctx.limits.signIn({ email: data.email, address: ctx.address });
  const user = await findUserByEmail(ctx.db, { email: data.email });
  if (!user) {
    await burnPasswordCheck(data.password);
    throw new ServiceError("UNAUTHORIZED", "email or password is wrong");
  }
  if (!(await verifyPassword(user.passwordHash, data.password))) {
    throw new ServiceError("UNAUTHORIZED", "email or password is wrong");
  }
  await ctx.limits.signInSucceeded(data.email);
  const session = await startSession(ctx.db, ctx.settings, user.id);
  return { user: { id: user.id, email: user.email, name: user.name, createdAt: user.createdAt }, session };
}
