import { type Executor, insertAuthSession } from "@hitrail/db";
import { newSessionToken, sha256Hex } from "../../auth/tokens.ts";
import type { ApiSettings } from "../../settings.ts";

/** Opens a session: the token goes to the cookie, only its sha256 to the database. */
export async function startSession(
  db: Executor,
  settings: ApiSettings,
  userId: string,
): Promise<{ token: string; expiresAt: Date }> {
  const token = newSessionToken();
  const expiresAt = new Date(Date.now() + settings.sessionTtlSeconds * 1000);
  await insertAuthSession(db, { userId, tokenHash: sha256Hex(token), expiresAt });
  return { token, expiresAt };
}
