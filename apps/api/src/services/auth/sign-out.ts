import { deleteAuthSession } from "@hitrail/db";
import type { AccountContext, UserPrincipal } from "../account.ts";

export async function signOut({ ctx }: { ctx: AccountContext & { principal: UserPrincipal } }) {
  await deleteAuthSession(ctx.db, { sessionId: ctx.principal.sessionId });
  return { ok: true as const };
}
