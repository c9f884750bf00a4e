import { type ApiKeyListing, type Database, findUserEmails } from "@hitrail/db";
import { z } from "zod";
import { isoTime, isoTimeNullable } from "../../schemas/common.ts";
import { role } from "../members/schemas.ts";

export const apiKeyOutput = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  role,
  /** The member the key acts for (null: made by an operator with the CLI). */
  createdByUserId: z.string().nullable(),
  createdByEmail: z.string().nullable(),
  lastUsedAt: isoTimeNullable,
  revokedAt: isoTimeNullable,
  createdAt: isoTime,
});

/** Keys as the dashboard lists them: with their creator's email beside the id. */
export async function withCreators(db: Database, keys: ApiKeyListing[]) {
  const emails = await findUserEmails(db, {
    userIds: keys.flatMap((k) => (k.createdByUserId ? [k.createdByUserId] : [])),
  });
  return keys.map((k) => ({
    ...k,
    createdByEmail: k.createdByUserId ? (emails.get(k.createdByUserId) ?? null) : null,
  }));
}
