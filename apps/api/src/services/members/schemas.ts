import { z } from "zod";
import { ROLES } from "../../auth/roles.ts";
import { isoTime } from "../../schemas/common.ts";

export const role = z.enum(ROLES, { message: `must be one of ${ROLES.join(", ")}` });

export const memberOutput = z.object({
  userId: z.string(),
  email: z.string(),
  name: z.string().nullable(),
  role,
  joinedAt: isoTime,
});

export const invitationOutput = z.object({
  id: z.string(),
  email: z.string(),
  role,
  invitedByUserId: z.string().nullable(),
  invitedByEmail: z.string().nullable(),
  expiresAt: isoTime,
  createdAt: isoTime,
});
