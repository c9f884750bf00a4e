import { and, asc, desc, eq, gt, isNull, lt, ne, sql } from "drizzle-orm";
import type { Executor } from "../client.ts";
import { apiKeys, auditLog, authSessions, memberships, users, workspaces } from "../schema/index.ts";
import { withLookup } from "../tenancy.ts";

// Accounts, sessions, memberships, API keys and the audit log as the dashboard API reads and writes
// them. users and auth_sessions carry no workspace (a user belongs to many), so these run on the
// owner connection; everything that does carry one is filtered by it here, whoever calls.

export type User = typeof users.$inferSelect;
export type WorkspaceRole = (typeof memberships.$inferSelect)["role"];
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type AuditRow = typeof auditLog.$inferSelect;
export type WorkspaceRow = typeof workspaces.$inferSelect;

const publicUser = { id: users.id, email: users.email, name: users.name, createdAt: users.createdAt };
export type PublicUser = Pick<User, "id" | "email" | "name" | "createdAt">;

export async function findUserByEmail(db: Executor, input: { email: string }): Promise<User | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(sql`lower(${users.email}) = lower(${input.email})`)
    .limit(1);
  return row;
}

export async function findUserById(db: Executor, input: { userId: string }): Promise<PublicUser | undefined> {
  const [row] = await db.select(publicUser).from(users).where(eq(users.id, input.userId)).limit(1);
  return row;
}

export async function findUserPasswordHash(
  db: Executor,
  input: { userId: string },
): Promise<string | undefined> {
  const [row] = await db
    .select({ passwordHash: users.passwordHash })
    .from(users)
    .where(eq(users.id, input.userId))
    .limit(1);
  return row?.passwordHash;
}

export async function insertUser(
  db: Executor,
  input: { email: string; name: string | null; passwordHash: string; demo?: boolean },
): Promise<PublicUser> {
  const [row] = await db.insert(users).values(input).returning(publicUser);
  if (!row) throw new Error("user insert returned nothing");
  return row;
}

export async function updateUserPassword(
  db: Executor,
  input: { userId: string; passwordHash: string },
): Promise<void> {
  await db.update(users).set({ passwordHash: input.passwordHash }).where(eq(users.id, input.userId));
}

// --- sessions --------------------------------------------------------------------------------------

export async function insertAuthSession(
  db: Executor,
  input: { userId: string; tokenHash: string; expiresAt: Date },
): Promise<{ id: string }> {
  const [row] = await db.insert(authSessions).values(input).returning({ id: authSessions.id });
  if (!row) throw new Error("session insert returned nothing");
  return row;
}

/** The live session a cookie's token hash names, with its user; expired sessions do not count. */
export async function findAuthSession(db: Executor, input: { tokenHash: string; now?: Date }) {
  const [row] = await db
    .select({
      sessionId: authSessions.id,
      expiresAt: authSessions.expiresAt,
      userId: users.id,
      email: users.email,
    })
    .from(authSessions)
    .innerJoin(users, eq(users.id, authSessions.userId))
    .where(
      and(eq(authSessions.tokenHash, input.tokenHash), gt(authSessions.expiresAt, input.now ?? new Date())),
    )
    .limit(1);
  return row;
}

export async function deleteAuthSession(db: Executor, input: { sessionId: string }): Promise<void> {
  await db.delete(authSessions).where(eq(authSessions.id, input.sessionId));
}

/** Signs a user out everywhere, except (optionally) the session that asked. */
export async function deleteUserSessions(
  db: Executor,
  input: { userId: string; exceptSessionId?: string },
): Promise<void> {
  await db
    .delete(authSessions)
    .where(
      input.exceptSessionId
        ? and(eq(authSessions.userId, input.userId), ne(authSessions.id, input.exceptSessionId))
        : eq(authSessions.userId, input.userId),
    );
}

// --- workspaces and memberships ---------------------------------------------------------------------

export async function findWorkspaceById(
  db: Executor,
  input: { workspaceId: string },
): Promise<WorkspaceRow | undefined> {
  const [row] = await db.select().from(workspaces).where(eq(workspaces.id, input.workspaceId)).limit(1);
  return row;
}

/** The user's workspaces (look-up by user: their own memberships, across workspaces). */
export async function listUserWorkspaces(db: Executor, input: { userId: string }) {
  return withLookup(db, { userId: input.userId }, (tx) =>
    tx
      .select({ id: workspaces.id, slug: workspaces.slug, name: workspaces.name, role: memberships.role })
      .from(memberships)
      .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
      .where(eq(memberships.userId, input.userId))
      .orderBy(asc(workspaces.name), asc(workspaces.id)),
  );
}

export async function findMembership(
  db: Executor,
  input: { workspaceId: string; userId: string },
): Promise<{ role: WorkspaceRole } | undefined> {
  // Row-level security: read as a look-up by the user (their own memberships), so it answers the
  // same inside a workspace's transaction and outside any (an API key's creator check).
  const [row] = await withLookup(db, { userId: input.userId }, (tx) =>
    tx
      .select({ role: memberships.role })
      .from(memberships)
      .where(and(eq(memberships.workspaceId, input.workspaceId), eq(memberships.userId, input.userId)))
      .limit(1),
  );
  return row;
}

export async function listMembers(db: Executor, input: { workspaceId: string }) {
  return db
    .select({
      userId: users.id,
      email: users.email,
      name: users.name,
      role: memberships.role,
      joinedAt: memberships.createdAt,
    })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.workspaceId, input.workspaceId))
    .orderBy(asc(memberships.createdAt), asc(users.id));
}

export async function insertMembership(
  db: Executor,
  input: { workspaceId: string; userId: string; role: WorkspaceRole },
): Promise<void> {
  await db.insert(memberships).values(input);
}

export async function updateMembershipRole(
  db: Executor,
  input: { workspaceId: string; userId: string; role: WorkspaceRole },
): Promise<void> {
  await db
    .update(memberships)
    .set({ role: input.role })
    .where(and(eq(memberships.workspaceId, input.workspaceId), eq(memberships.userId, input.userId)));
}

export async function deleteMembership(
  db: Executor,
  input: { workspaceId: string; userId: string },
): Promise<void> {
  await db
    .delete(memberships)
    .where(and(eq(memberships.workspaceId, input.workspaceId), eq(memberships.userId, input.userId)));
}

/** Owners of a workspace, counted under a row lock so two demotions cannot both pass the check. */
export async function countOwnersForUpdate(db: Executor, input: { workspaceId: string }): Promise<number> {
  const rows = await db
    .select({ userId: memberships.userId })
    .from(memberships)
    .where(and(eq(memberships.workspaceId, input.workspaceId), eq(memberships.role, "owner")))
    .for("update");
  return rows.length;
}

export async function updateWorkspaceSettings(
  db: Executor,
  input: {
    workspaceId: string;
    values: Partial<
      Pick<
        WorkspaceRow,
        | "name"
        | "timeZone"
        | "currency"
        | "sessionTtlSeconds"
        | "postbackSecret"
        | "postbackIpAllowlist"
        | "tagConversions"
        | "tagAllowedOrigins"
        | "tagRevenue"
        | "tagConversionsPerHit"
        | "visitorIdParam"
      >
    >;
  },
): Promise<WorkspaceRow | undefined> {
  const [row] = await db
    .update(workspaces)
    .set(input.values)
    .where(eq(workspaces.id, input.workspaceId))
    .returning();
  return row;
}

// --- API keys ---------------------------------------------------------------------------------------

const apiKeyListing = {
  id: apiKeys.id,
  name: apiKeys.name,
  prefix: apiKeys.prefix,
  role: apiKeys.role,
  createdByUserId: apiKeys.createdByUserId,
  lastUsedAt: apiKeys.lastUsedAt,
  revokedAt: apiKeys.revokedAt,
  createdAt: apiKeys.createdAt,
};
export type ApiKeyListing = Omit<ApiKeyRow, "workspaceId" | "keyHash">;

export async function listApiKeys(db: Executor, input: { workspaceId: string }): Promise<ApiKeyListing[]> {
  return db
    .select(apiKeyListing)
    .from(apiKeys)
    .where(eq(apiKeys.workspaceId, input.workspaceId))
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
}

export async function findApiKeyListing(
  db: Executor,
  input: { workspaceId: string; apiKeyId: string },
): Promise<ApiKeyListing | undefined> {
  const [row] = await db
    .select(apiKeyListing)
    .from(apiKeys)
    .where(and(eq(apiKeys.workspaceId, input.workspaceId), eq(apiKeys.id, input.apiKeyId)))
    .limit(1);
  return row;
}

/** Revokes a live key; undefined when the workspace has no such key or it is already revoked. */
export async function revokeApiKey(
  db: Executor,
  input: { workspaceId: string; apiKeyId: string },
): Promise<ApiKeyListing | undefined> {
  const [row] = await db
    .update(apiKeys)
    .set({ revokedAt: sql`now()` })
    .where(
      and(
        eq(apiKeys.workspaceId, input.workspaceId),
        eq(apiKeys.id, input.apiKeyId),
        isNull(apiKeys.revokedAt),
      ),
    )
    .returning(apiKeyListing);
  return row;
}

// --- audit log --------------------------------------------------------------------------------------

export type AuditInsert = Omit<typeof auditLog.$inferInsert, "id" | "createdAt">;

export async function insertAuditRow(db: Executor, row: AuditInsert): Promise<void> {
  await db.insert(auditLog).values(row);
}

/** Newest first; `before` is the id of the last row of the previous page (ids are time-sortable). */
export async function listAuditLog(
  db: Executor,
  input: { workspaceId: string; limit: number; before?: string },
): Promise<AuditRow[]> {
  return db
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.workspaceId, input.workspaceId),
        input.before ? lt(auditLog.id, input.before) : undefined,
      ),
    )
    .orderBy(desc(auditLog.id))
    .limit(input.limit);
}
