import { insertInvitation, listMembers } from "@hitrail/db";
import { z } from "zod";
import { roleAtLeast } from "../../auth/roles.ts";
import { newSessionToken, sha256Hex } from "../../auth/tokens.ts";
import { conflict, forbidden, ServiceError } from "../../errors.ts";
import { email } from "../auth/schemas.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { invitationOutput, role } from "./schemas.ts";

export const INVITATION_TTL_MS = 7 * 86_400_000;

/** Where an invitation's token is redeemed: the dashboard's accept page. */
export function invitationLink(dashboardUrl: string | null, token: string): string {
  return `${dashboardUrl ?? ""}/invite/${token}`;
}

/**
 * Invites an email into the workspace with a role no higher than the inviter's. The invitee
 * accepts through the link (signed in as that email, or signing up through it); nothing here says
 * whether the email has an account. With SMTP configured the link goes out by email and is not
 * shown; without, it is returned once for the admin to send.
 */
export const inviteMember = workspaceService({
  role: "admin",
  input: z.object({ email, role }),
  output: z.object({ invitation: invitationOutput, link: z.string().nullable(), emailed: z.boolean() }),
  run: async ({ ctx, input }) => {
    if (!roleAtLeast(ctx.actor.role, input.role)) {
      throw forbidden(`role: you cannot grant ${input.role}, which is above your own role`);
    }
    const token = newSessionToken();
    const invitation = await inWorkspace(ctx, async (tx) => {
      const members = await listMembers(tx, { workspaceId: ctx.workspace.id });
      if (members.some((m) => m.email.toLowerCase() === input.email)) {
        throw conflict("email: this address is already a member of the workspace");
      }
      const row = await insertInvitation(tx, {
        workspaceId: ctx.workspace.id,
        email: input.email,
        role: input.role,
        tokenHash: sha256Hex(token),
        invitedByUserId: ctx.actor.kind === "user" ? ctx.actor.userId : null,
        expiresAt: new Date(Date.now() + INVITATION_TTL_MS),
      });
      await audit(tx, ctx, {
        action: "member.invite",
        entity: "invitation",
        entityId: row.id,
        detail: `${input.email} as ${input.role}`,
      });
      return row;
    });
    const link = invitationLink(ctx.settings.dashboardUrl, token);
    const output = {
      id: invitation.id,
      email: invitation.email,
      role: invitation.role,
      invitedByUserId: invitation.invitedByUserId,
      invitedByEmail: null,
      expiresAt: invitation.expiresAt,
      createdAt: invitation.createdAt,
    };
    if (!ctx.mailer) return { invitation: output, link, emailed: false };
    try {
      await ctx.mailer.send({
        to: invitation.email,
        subject: `You are invited to ${ctx.workspace.name} on Hitrail`,
        text: [
          `You have been invited to the workspace "${ctx.workspace.name}" as ${invitation.role}.`,
          "",
          `Accept the invitation (valid for 7 days): ${link}`,
          "",
          "If you did not expect this, ignore this email.",
        ].join("\n"),
      });
    } catch (error) {
      throw new ServiceError(
        "PRECONDITION_FAILED",
        "the invitation email could not be sent; check the server's SMTP settings and invite again",
        undefined,
        { cause: error },
      );
    }
    return { invitation: output, link: null, emailed: true };
  },
});
