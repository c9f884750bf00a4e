import { z } from "zod";
import { clearSessionCookie, setSessionCookie } from "../auth/cookie.ts";
import { changePassword, changePasswordInput } from "../services/auth/change-password.ts";
import { me, meOutput } from "../services/auth/me.ts";
import { userOutput } from "../services/auth/schemas.ts";
import { signIn, signInInput } from "../services/auth/sign-in.ts";
import { signOut } from "../services/auth/sign-out.ts";
import { signUp, signUpInput } from "../services/auth/sign-up.ts";
import { authedProcedure, publicProcedure, router, userProcedure } from "../trpc.ts";

const ok = z.object({ ok: z.literal(true) });

export const authRouter = router({
  /** Creates an account and sets the session cookie. */
  signUp: publicProcedure
    .input(signUpInput)
    .output(userOutput)
    .mutation(async ({ ctx, input }) => {
      const { user, session } = await signUp({ ctx: { ...ctx, db: ctx.db.db }, input });
      setSessionCookie(ctx.res, ctx.settings, session.token, session.expiresAt);
      return user;
    }),
  /** Checks email and password and sets the session cookie. */
  signIn: publicProcedure
    .input(signInInput)
    .output(userOutput)
    .mutation(async ({ ctx, input }) => {
      const { user, session } = await signIn({ ctx: { ...ctx, db: ctx.db.db }, input });
      setSessionCookie(ctx.res, ctx.settings, session.token, session.expiresAt);
      return user;
    }),
  signOut: userProcedure.output(ok).mutation(async ({ ctx }) => {
    const result = await signOut({ ctx: { ...ctx, db: ctx.db.db } });
    clearSessionCookie(ctx.res, ctx.settings);
    return result;
  }),
  changePassword: userProcedure
    .input(changePasswordInput)
    .output(ok)
    .mutation(({ ctx, input }) => changePassword({ ctx: { ...ctx, db: ctx.db.db }, input })),
  /**
   * The caller, or null when nobody is signed in: how the dashboard asks "am I signed in?" without
   * an error on every visit to the sign-in page.
   */
  session: publicProcedure
    .output(meOutput.nullable())
    .query(({ ctx }) => (ctx.principal ? me({ ctx: { ...ctx, db: ctx.db.db } }) : null)),
  /** The caller: a user with their workspaces, or an API key with its one workspace. */
  me: authedProcedure.output(meOutput).query(({ ctx }) => me({ ctx: { ...ctx, db: ctx.db.db } })),
});
