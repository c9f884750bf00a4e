import { countUsers, type Executor, insertUser, lockSignUps } from "@hitrail/db";
import { z } from "zod";
import { hashPassword } from "../../auth/password.ts";
import { forbidden } from "../../errors.ts";
import { plainText } from "../../schemas/common.ts";
import type { ApiSettings } from "../../settings.ts";
import type { AccountContext } from "../account.ts";
import { parseInput } from "../context.ts";
import { email, newPassword } from "./schemas.ts";
import { startSession } from "./session.ts";

export const personName = plainText(200);

export const signUpInput = z.object({
  email,
  password: newPassword,
  name: personName.optional(),
});

/**
 * Whether open sign-up is allowed now: `open` always, `invite` never, `first` only while the server
 * has no account (decided under a lock, so two first sign-ups cannot both win).
 */
async function openSignUpAllowed(tx: Executor, settings: ApiSettings): Promise<boolean> {
  if (settings.signup === "open") return true;
  if (settings.signup === "invite") return false;
  await lockSignUps(tx);
  return (await countUsers(tx)) === 0;
}

/** Creates an account and signs it in. A taken email is a CONFLICT (the adapter says so). */
export async function signUp({ ctx, input }: { ctx: AccountContext; input: z.input<typeof signUpInput> }) {
  if (ctx.settings.signup === "invite") throw signUpClosed();
  const data = parseInput(signUpInput, input);
  await ctx.limits.signUp(ctx.address);
  const passwordHash = await hashPassword(data.password);
  return ctx.db.transaction(async (tx) => {
    if (!(await openSignUpAllowed(tx, ctx.settings))) throw signUpClosed();
    const user = await insertUser(tx, { email: data.email, name: data.name || null, passwordHash });
    const session = await startSession(tx, ctx.settings, user.id);
    return { user, session };
  });
}

const signUpClosed = () =>
  forbidden("sign-up is by invitation on this server; ask a workspace admin to invite you");
