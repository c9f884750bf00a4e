import { z } from "zod";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../../auth/password.ts";
import { isoTime } from "../../schemas/common.ts";

export const email = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, { message: "must be at most 254 characters" })
  .pipe(z.email({ message: "must be an email address" }));

export const newPassword = z
  .string()
  .min(MIN_PASSWORD_LENGTH, { message: `must be at least ${MIN_PASSWORD_LENGTH} characters` })
  .max(MAX_PASSWORD_LENGTH, { message: `must be at most ${MAX_PASSWORD_LENGTH} characters` });

export const userOutput = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string().nullable(),
  createdAt: isoTime,
});
