import { createHash, randomBytes } from "node:crypto";

/** Session tokens are 256 random bits; only their sha256 is stored, so a leaked table opens nothing. */
export function newSessionToken(): string {
  return randomBytes(32).toString("base64url");
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

export function randomSecret(bytes = 24): string {
  return randomBytes(bytes).toString("base64url");
}
