import { hash, verify } from "@node-rs/argon2";

// Argon2id with the library's defaults (19 MiB, 2 passes, 1 lane): OWASP's minimum recommendation,
// and cheap enough that a 2-core box can still answer sign-ins under load.

export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 200;

export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    // A malformed stored hash is a failed sign-in, not a crash.
    return false;
  }
}

let dummy: Promise<string> | undefined;

/**
 * Spends the same work as a real check when the email is unknown, so response time does not tell
 * an attacker which emails have accounts.
 */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummy ??= hash("hitrail-no-such-user-password");
  await verifyPassword(await dummy, password);
}
