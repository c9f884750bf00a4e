import { z } from "zod";
import { isoTime, isoTimeNullable } from "../../schemas/common.ts";
import { role } from "../members/schemas.ts";

export const apiKeyOutput = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  role,
  createdByUserId: z.string().nullable(),
  lastUsedAt: isoTimeNullable,
  revokedAt: isoTimeNullable,
  createdAt: isoTime,
});
