import { type Executor, findApiKey, findAuthSession, findMembership } from "@hitrail/db";
import type { FastifyRequest } from "fastify";
import { SESSION_COOKIE } from "./cookie.ts";
import { type Role, roleAtLeast } from "./roles.ts";
import { sha256Hex } from "./tokens.ts";

/** Who is calling: a signed-in user (cookie) or an API key (Bearer), never both. */
export type Principal =
  | { kind: "user"; userId: string; email: string; sessionId: string }
  | { kind: "api_key"; apiKeyId: string; workspaceId: string; role: Role };

/**
 * An Authorization header wins over a cookie: automation sends keys, and a browser that also holds a
 * session must not turn a bad key into its user's rights. A bad key or session is anonymous.
 */
export async function resolvePrincipal(db: Executor, req: FastifyRequest): Promise<Principal | null> {
  const header = req.headers.authorization;
  if (header !== undefined) {
    if (!header.startsWith("Bearer ")) return null;
    const key = await findApiKey(db, header.slice(7).trim());
    if (!key) return null;
    let role: Role = key.role;
    // A key acts for the member who made it, never beyond them: removing the member revokes their
    // keys and lowering their role caps them, and this check holds even for keys made before that.
    if (key.createdByUserId) {
      const creator = await findMembership(db, { workspaceId: key.workspaceId, userId: key.createdByUserId });
      if (!creator) return null;
      if (!roleAtLeast(creator.role, role)) role = creator.role;
    }
    return { kind: "api_key", apiKeyId: key.id, workspaceId: key.workspaceId, role };
  }
  const token = req.cookies?.[SESSION_COOKIE];
  if (!token) return null;
  const session = await findAuthSession(db, { tokenHash: sha256Hex(token) });
  return session
    ? { kind: "user", userId: session.userId, email: session.email, sessionId: session.sessionId }
    : null;
}
