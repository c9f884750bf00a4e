import { z } from "zod";
import { setSessionCookie } from "../auth/cookie.ts";
import { userOutput } from "../services/auth/schemas.ts";
import {
  acceptInvitation,
  invitationPreviewOutput,
  invitationTokenInput,
  joinedOutput,
  previewInvitation,
  signUpWithInvitation,
  signUpWithInvitationInput,
} from "../services/invitations/accept.ts";
import { publicProcedure, router, userProcedure } from "../trpc.ts";

/** The invitee's side of an invitation link (the admin's side is members.invite). */
export const invitationsRouter = router({
  /** What the link invites to: workspace, address, role. */
  get: publicProcedure
    .input(invitationTokenInput)
    .output(invitationPreviewOutput)
    .query(({ ctx, input }) => previewInvitation({ ctx: { ...ctx, db: ctx.db.db }, input })),
  /** Joins as the signed-in user, whose email must be the invited one. */
  accept: userProcedure
    .input(invitationTokenInput)
    .output(joinedOutput)
    .mutation(({ ctx, input }) => acceptInvitation({ ctx: { ...ctx, db: ctx.db.db }, input })),
  /** Creates the invited address's account, joins, and sets the session cookie. */
  signUp: publicProcedure
    .input(signUpWithInvitationInput)
    .output(z.object({ user: userOutput, joined: joinedOutput }))
    .mutation(async ({ ctx, input }) => {
      const { user, session, joined } = await signUpWithInvitation({ ctx: { ...ctx, db: ctx.db.db }, input });
      setSessionCookie(ctx.res, ctx.settings, session.token, session.expiresAt);
      return { user, joined };
    }),
});
