import { findInvitation, listOpenInvitations, revokeInvitation as revokeInvitationRow } from "@hitrail/db";
import { z } from "zod";
import { roleAtLeast } from "../../auth/roles.ts";
import { forbidden, notFound } from "../../errors.ts";
import { id } from "../../schemas/common.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { invitationOutput } from "./schemas.ts";

/** Invitations not yet accepted, revoked or expired. */
export const listInvitations = workspaceService({
  role: "admin",
  input: z.object({}),
  output: z.array(invitationOutput),
  run: ({ ctx }) => inWorkspace(ctx, (tx) => listOpenInvitations(tx, { workspaceId: ctx.workspace.id })),
});

/** Withdraws an open invitation: its link stops working at once. */
export const revokeInvitation = workspaceService({
  role: "admin",
  input: z.object({ invitationId: id }),
  output: z.object({ revoked: z.literal(true) }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const invitation = await findInvitation(tx, {
        workspaceId: ctx.workspace.id,
        invitationId: input.invitationId,
      });
      if (!invitation) throw notFound("invitation");
      if (!roleAtLeast(ctx.actor.role, invitation.role)) {
        throw forbidden(`invitationId: this invitation grants ${invitation.role}, above your own role`);
      }
      await revokeInvitationRow(tx, { workspaceId: ctx.workspace.id, invitationId: invitation.id });
      await audit(tx, ctx, {
        action: "member.invitation.revoke",
        entity: "invitation",
        entityId: invitation.id,
        detail: invitation.email,
      });
      return { revoked: true as const };
    }),
});
