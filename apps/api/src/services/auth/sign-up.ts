import { insertUser } from "@hitrail/db";
import { z } from "zod";
import { hashPassword } from "../../auth/password.ts";
import { forbidden } from "../../errors.ts";
import type { AccountContext } from "../account.ts";
import { parseInput } from "../context.ts";
import { email, newPassword } from "./schemas.ts";
import { startSession } from "./session.ts";

export const signUpInput = z.object({
  email,
  password: newPassword,
  name: z.string().trim().max(200).optional(),
});

/** Creates an account and signs it in. A taken email is a CONFLICT (the adapter says so). */
export async function signUp({ ctx, input }: { ctx: AccountContext; input: z.input<typeof signUpInput> }) {
  if (!ctx.settings.signupOpen) {
    throw forbidden("sign-up is closed on this server; ask a workspace admin to add you");
  }
  const data = parseInput(signUpInput, input);
  const passwordHash = await hashPassword(data.password);
  return ctx.db.transaction(async (tx) => {
    const user = await insertUser(tx, { email: data.email, name: data.name || null, passwordHash });
    const session = await startSession(tx, ctx.settings, user.id);
    return { user, session };
  });
}
