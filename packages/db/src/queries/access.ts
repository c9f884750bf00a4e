import { and, asc, count, eq, gt, inArray, isNotNull, isNull, sql } from "drizzle-orm";
import type { Executor } from "../client.ts";
import { apiKeys, memberships, users, workspaces } from "../schema/accounts.ts";
import { trackingDomains } from "../schema/domains.ts";
import { invitations } from "../schema/invitations.ts";
import { withLookup, workspaceScopeSql } from "../tenancy.ts";

// Who may get in and what they keep: sign-up gates, invitations, the keys a member leaves behind,
// certificates for hosts. Accounts and invitation tokens belong to no one workspace until looked
// up, so the lookups by token run outside a workspace, like sessions and API keys.

export type InvitationRow = typeof invitations.$inferSelect;
type Role = InvitationRow["role"];

/** Serialises sign-ups for the transaction, so "the first account" is decided once. */
export async function lockSignUps(db: Executor): Promise<void> {
  await db.execute(sql`select pg_advisory_xact_lock(hashtext('hitrail:sign-up'))`);
}

/** Accounts that count for SIGNUP=first: the seeded demo sign-in is not one. */
export async function countUsers(db: Executor): Promise<number> {
  const [row] = await db.select({ n: count() }).from(users).where(eq(users.demo, false));
  return row?.n ?? 0;
}

/** Workspaces the user owns, counted under a per-user lock so two creations cannot both pass a limit. */
export async function countOwnedWorkspacesLocked(db: Executor, input: { userId: string }): Promise<number> {
  await db.execute(sql`select pg_advisory_xact_lock(hashtext('hitrail:workspaces-of:' || ${input.userId}))`);
  // Across workspaces, by the one key the caller holds: the user's own memberships.
  const [row] = await withLookup(db, { userId: input.userId }, (tx) =>
    tx
      .select({ n: count() })
      .from(memberships)
      .where(and(eq(memberships.userId, input.userId), eq(memberships.role, "owner"))),
  );
  return row?.n ?? 0;
}

// --- invitations -----------------------------------------------------------------------------------

/** An invitation neither accepted nor revoked (expiry is checked where it matters). */
const notUsedOrRevoked = () => [isNull(invitations.acceptedAt), isNull(invitations.revokedAt)];

const invitationListing = {
  id: invitations.id,
  email: invitations.email,
  role: invitations.role,
  invitedByUserId: invitations.invitedByUserId,
  invitedByEmail: users.email,
  expiresAt: invitations.expiresAt,
  createdAt: invitations.createdAt,
};

/** A new invitation; any open one for the same email in the workspace is revoked by it. */
export async function insertInvitation(
  db: Executor,
  input: {
    workspaceId: string;
    email: string;
    role: Role;
    tokenHash: string;
    invitedByUserId: string | null;
    expiresAt: Date;
  },
): Promise<InvitationRow> {
  await db
    .update(invitations)
    .set({ revokedAt: sql`now()` })
    .where(
      and(
        eq(invitations.workspaceId, input.workspaceId),
        eq(invitations.email, input.email),
        ...notUsedOrRevoked(),
      ),
    );
  const [row] = await db.insert(invitations).values(input).returning();
  if (!row) throw new Error("invitation insert returned nothing");
  return row;
}

/** Open invitations of a workspace (neither accepted, revoked nor expired), oldest first. */
export async function listOpenInvitations(db: Executor, input: { workspaceId: string; now?: Date }) {
  return db
    .select(invitationListing)
    .from(invitations)
    .leftJoin(users, eq(users.id, invitations.invitedByUserId))
    .where(
      and(
        eq(invitations.workspaceId, input.workspaceId),
        ...notUsedOrRevoked(),
        gt(invitations.expiresAt, input.now ?? new Date()),
      ),
    )
    .orderBy(asc(invitations.createdAt), asc(invitations.id));
}

export async function findInvitation(db: Executor, input: { workspaceId: string; invitationId: string }) {
  const [row] = await db
    .select()
    .from(invitations)
    .where(and(eq(invitations.workspaceId, input.workspaceId), eq(invitations.id, input.invitationId)))
    .limit(1);
  return row;
}

export async function revokeInvitation(db: Executor, input: { workspaceId: string; invitationId: string }) {
  await db
    .update(invitations)
    .set({ revokedAt: sql`now()` })
    .where(
      and(
        eq(invitations.workspaceId, input.workspaceId),
        eq(invitations.id, input.invitationId),
        ...notUsedOrRevoked(),
      ),
    );
}

/** The invitation a link's token names, with its workspace; locked when `forUpdate` (accepting it). */
export async function findInvitationByToken(db: Executor, input: { tokenHash: string; forUpdate?: boolean }) {
  // Row-level security: the token finds its invitation's workspace (look-up policy
  // lookup_invitation), and the rest of the caller's transaction is then scoped to that workspace:
  // accepting writes the membership, the invitation and the audit row there.
  return withLookup(db, { invitationTokenHash: input.tokenHash }, async (tx) => {
    const [found] = await tx
      .select({ workspaceId: invitations.workspaceId })
      .from(invitations)
      .where(eq(invitations.tokenHash, input.tokenHash))
      .limit(1);
    if (!found) return undefined;
    await tx.execute(workspaceScopeSql(found.workspaceId));
    return invitationWithWorkspace(tx, input);
  });
}

async function invitationWithWorkspace(db: Executor, input: { tokenHash: string; forUpdate?: boolean }) {
  const query = db
    .select({
      invitation: invitations,
      workspaceName: workspaces.name,
      workspaceSlug: workspaces.slug,
    })
    .from(invitations)
    .innerJoin(workspaces, eq(workspaces.id, invitations.workspaceId))
    .where(eq(invitations.tokenHash, input.tokenHash))
    .limit(1);
  const [row] = input.forUpdate ? await query.for("update", { of: invitations }) : await query;
  return row;
}

export async function markInvitationAccepted(db: Executor, input: { invitationId: string; userId: string }) {
  await db
    .update(invitations)
    .set({ acceptedAt: sql`now()`, acceptedByUserId: input.userId })
    .where(eq(invitations.id, input.invitationId));
}

/** Adds the membership unless the user already has one (then their role stays as it is). */
export async function insertMembershipIfAbsent(
  db: Executor,
  input: { workspaceId: string; userId: string; role: Role },
): Promise<boolean> {
  const rows = await db.insert(memberships).values(input).onConflictDoNothing().returning({
    userId: memberships.userId,
  });
  return rows.length > 0;
}

// --- API keys a member leaves behind --------------------------------------------------------------

const STRONGER: Record<Role, Role[]> = {
  viewer: ["member", "admin", "owner"],
  member: ["admin", "owner"],
  admin: ["owner"],
  owner: [],
};

/** Revokes every live key the user created in the workspace; returns their ids. */
export async function revokeKeysCreatedBy(
  db: Executor,
  input: { workspaceId: string; userId: string },
): Promise<string[]> {
  const rows = await db
    .update(apiKeys)
    .set({ revokedAt: sql`now()` })
    .where(
      and(
        eq(apiKeys.workspaceId, input.workspaceId),
        eq(apiKeys.createdByUserId, input.userId),
        isNull(apiKeys.revokedAt),
      ),
    )
    .returning({ id: apiKeys.id });
  return rows.map((r) => r.id);
}

/** Lowers the user's live keys in the workspace that are above `role` to `role`; returns their ids. */
export async function capKeysCreatedBy(
  db: Executor,
  input: { workspaceId: string; userId: string; role: Role },
): Promise<string[]> {
  const stronger = STRONGER[input.role];
  if (stronger.length === 0) return [];
  const rows = await db
    .update(apiKeys)
    .set({ role: input.role })
    .where(
      and(
        eq(apiKeys.workspaceId, input.workspaceId),
        eq(apiKeys.createdByUserId, input.userId),
        isNull(apiKeys.revokedAt),
        inArray(apiKeys.role, stronger),
      ),
    )
    .returning({ id: apiKeys.id });
  return rows.map((r) => r.id);
}

/** The user who created a key (null for keys an operator made with the CLI). */
export async function findKeyCreator(db: Executor, input: { apiKeyId: string }): Promise<string | null> {
  const [row] = await db
    .select({ userId: apiKeys.createdByUserId })
    .from(apiKeys)
    .where(eq(apiKeys.id, input.apiKeyId))
    .limit(1);
  return row?.userId ?? null;
}

// --- on-demand TLS ---------------------------------------------------------------------------------

/**
 * Whether a host may get a certificate: a verified custom domain, or `{slug}.{baseDomain}` of a
 * workspace that exists. Nothing else, so nobody can make us ask a CA for arbitrary names.
 */
export async function hostMayGetCertificate(
  db: Executor,
  input: { host: string; baseDomain: string },
): Promise<boolean> {
  const suffix = `.${input.baseDomain}`;
  const label = input.host.endsWith(suffix) ? input.host.slice(0, -suffix.length) : "";
  // Row-level security: a look-up across workspaces by the keys the caller holds (host, slug) only.
  return withLookup(db, { host: input.host, slug: label }, (tx) =>
    certificateHostExists(tx, input.host, label),
  );
}

async function certificateHostExists(db: Executor, host: string, label: string): Promise<boolean> {
  const input = { host };
  if (label !== "" && !label.includes(".")) {
    const [ws] = await db
      .select({ id: workspaces.id })
      .from(workspaces)
      .where(eq(workspaces.slug, label))
      .limit(1);
    if (ws) return true;
  }
  // A verified tracking domain of a workspace that exists (custom, or a default one made under an
  // earlier base domain).
  const [row] = await db
    .select({ id: trackingDomains.id })
    .from(trackingDomains)
    .innerJoin(workspaces, eq(workspaces.id, trackingDomains.workspaceId))
    .where(and(eq(trackingDomains.host, input.host), isNotNull(trackingDomains.verifiedAt)))
    .limit(1);
  return row !== undefined;
}

/** Emails of users by id (creators shown beside their keys and invitations). */
export async function findUserEmails(
  db: Executor,
  input: { userIds: string[] },
): Promise<Map<string, string>> {
  if (input.userIds.length === 0) return new Map();
  const rows = await db
    .select({ id: users.id, email: users.email })
    .from(users)
    .where(inArray(users.id, [...new Set(input.userIds)]));
  return new Map(rows.map((r) => [r.id, r.email]));
}
