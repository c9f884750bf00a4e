import {
  type Executor,
  findInvitationByToken,
  findUserByEmail,
  insertAuditRow,
  insertMembershipIfAbsent,
  insertUser,
  markInvitationAccepted,
} from "@hitrail/db";
import { z } from "zod";
import { hashPassword } from "../../auth/password.ts";
import { sha256Hex } from "../../auth/tokens.ts";
import { conflict, forbidden, notFound } from "../../errors.ts";
import type { AccountContext, UserPrincipal } from "../account.ts";
import { newPassword } from "../auth/schemas.ts";
import { startSession } from "../auth/session.ts";
import { personName } from "../auth/sign-up.ts";
import { parseInput } from "../context.ts";

const token = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_-]{20,100}$/, { message: "must be the token of an invitation link" });

export const invitationTokenInput = z.object({ token });
export const signUpWithInvitationInput = z.object({
  token,
  password: newPassword,
  name: personName.optional(),
});

export const invitationPreviewOutput = z.object({
  workspaceName: z.string(),
  email: z.string(),
  role: z.string(),
  expiresAt: z.string(),
});

export const joinedOutput = z.object({
  workspaceId: z.string(),
  slug: z.string(),
  name: z.string(),
  role: z.string(),
});

// Expired, revoked, used and unknown links all get this one answer.
const invalidLink = () => notFound("invitation (the link has expired, was withdrawn or was already used)");

async function openInvitation(db: Executor, raw: string, forUpdate: boolean) {
  const found = await findInvitationByToken(db, { tokenHash: sha256Hex(raw), forUpdate });
  const inv = found?.invitation;
  if (!found || !inv || inv.acceptedAt || inv.revokedAt || inv.expiresAt <= new Date()) throw invalidLink();
  return found;
}

/** What a link invites to, for the accept page: workspace, address and role, nothing about accounts. */
export async function previewInvitation({ ctx, input }: { ctx: AccountContext; input: unknown }) {
  const data = parseInput(invitationTokenInput, input);
  await ctx.limits.signUp(ctx.address);
  const { invitation, workspaceName } = await openInvitation(ctx.db, data.token, false);
  return {
    workspaceName,
    email: invitation.email,
    role: invitation.role,
    expiresAt: invitation.expiresAt.toISOString(),
  };
}

async function join(
  tx: Executor,
  found: Awaited<ReturnType<typeof openInvitation>>,
  userId: string,
  how: string,
): Promise<z.input<typeof joinedOutput>> {
  const inv = found.invitation;
  await insertMembershipIfAbsent(tx, { workspaceId: inv.workspaceId, userId, role: inv.role });
  await markInvitationAccepted(tx, { invitationId: inv.id, userId });
  await insertAuditRow(tx, {
    workspaceId: inv.workspaceId,
    actorUserId: userId,
    action: "member.join",
    entity: "invitation",
    entityId: inv.id,
    detail: `${inv.email} as ${inv.role} (${how})`,
  });
  return {
    workspaceId: inv.workspaceId,
    slug: found.workspaceSlug,
    name: found.workspaceName,
    role: inv.role,
  };
}

/** The signed-in user joins through the link, which must be for their own email address. */
export async function acceptInvitation({
  ctx,
  input,
}: {
  ctx: AccountContext & { principal: UserPrincipal };
  input: unknown;
}) {
  const data = parseInput(invitationTokenInput, input);
  await ctx.limits.signUp(ctx.address);
  return ctx.db.transaction(async (tx) => {
    const found = await openInvitation(tx, data.token, true);
    if (found.invitation.email.toLowerCase() !== ctx.principal.email.toLowerCase()) {
      throw forbidden("this invitation is for another email address; sign in as that address to accept it");
    }
    return join(tx, found, ctx.principal.userId, "accepted");
  });
}

/**
 * Creates the invited address's account through the link (in every sign-up mode: the invitation
 * is the permission) and joins. An address that already has an account signs in instead.
 */
export async function signUpWithInvitation({ ctx, input }: { ctx: AccountContext; input: unknown }) {
  const data = parseInput(signUpWithInvitationInput, input);
  await ctx.limits.signUp(ctx.address);
  const passwordHash = await hashPassword(data.password);
  return ctx.db.transaction(async (tx) => {
    const found = await openInvitation(tx, data.token, true);
    const email = found.invitation.email;
    if (await findUserByEmail(tx, { email })) {
      throw conflict("this address already has an account: sign in, then open the invitation link again");
    }
    const user = await insertUser(tx, { email, name: data.name || null, passwordHash });
    const joined = await join(tx, found, user.id, "signed up");
    const session = await startSession(tx, ctx.settings, user.id);
    return { user, session, joined };
  });
}
