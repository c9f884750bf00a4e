import type { WorkspaceRow } from "@hitrail/db";
import { z } from "zod";
import { ROLES, type Role, roleAtLeast } from "../../auth/roles.ts";
import { isoTime } from "../../schemas/common.ts";

export const workspaceOutput = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  timeZone: z.string(),
  currency: z.string(),
  sessionTtlSeconds: z.number().int(),
  /** Only admins and owners see the secret itself; everyone sees whether one is set. */
  postbackSecret: z.string().nullable(),
  postbackSecretSet: z.boolean(),
  postbackIpAllowlist: z.array(z.string()),
  tagConversions: z.boolean(),
  tagAllowedOrigins: z.array(z.string()),
  tagRevenue: z.boolean(),
  tagConversionsPerHit: z.number().int(),
  visitorIdParam: z.string(),
  role: z.enum(ROLES),
  createdAt: isoTime,
  updatedAt: isoTime,
});

export function toWorkspaceOutput(ws: WorkspaceRow, role: Role): z.input<typeof workspaceOutput> {
  return {
    id: ws.id,
    slug: ws.slug,
    name: ws.name,
    timeZone: ws.timeZone,
    currency: ws.currency,
    sessionTtlSeconds: ws.sessionTtlSeconds,
    postbackSecret: roleAtLeast(role, "admin") ? ws.postbackSecret : null,
    postbackSecretSet: ws.postbackSecret !== null && ws.postbackSecret !== "",
    postbackIpAllowlist: ws.postbackIpAllowlist,
    tagConversions: ws.tagConversions,
    tagAllowedOrigins: ws.tagAllowedOrigins,
    tagRevenue: ws.tagRevenue,
    tagConversionsPerHit: ws.tagConversionsPerHit,
    visitorIdParam: ws.visitorIdParam,
    role,
    createdAt: ws.createdAt,
    updatedAt: ws.updatedAt,
  };
}
