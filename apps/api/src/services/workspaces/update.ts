import {
  MAX_TAG_PER_HIT_LIMIT,
  normalizeAllowedOrigin,
  parseIpRange,
  visitorIdParamProblem,
} from "@hitrail/core";
import { updateWorkspaceSettings } from "@hitrail/db";
import { z } from "zod";
import { notFound } from "../../errors.ts";
import { currency, name, timeZone } from "../../schemas/common.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { toWorkspaceOutput, workspaceOutput } from "./schemas.ts";

const DAY = 86_400;

export const updateWorkspaceInput = z.object({
  name: name.optional(),
  timeZone: timeZone.optional(),
  currency: currency.optional(),
  /** Visitor-session lifetime (seed: 4 days), extended on every activity. */
  sessionTtlSeconds: z
    .number()
    .int()
    .min(3_600, { message: "must be at least one hour (3600)" })
    .max(90 * DAY, { message: "must be at most 90 days (7776000)" })
    .optional(),
  postbackIpAllowlist: z
    .array(
      z
        .string()
        .trim()
        .refine((v) => parseIpRange(v) !== null, { message: "is not an IP address or CIDR range" }),
    )
    .max(100, { message: "must list at most 100 entries" })
    .optional(),
  /** Browsers may record conversions with the tag's flux.track (on by default, as the seed needs). */
  tagConversions: z.boolean().optional(),
  /**
   * Hosts whose pages may send tag conversions and read the tag API, on top of the workspace's
   * landers', offers' and tracking domains' hosts: `shop.example`, `*.example.com` or an origin.
   */
  tagAllowedOrigins: z
    .array(
      z
        .string()
        .trim()
        .refine((v) => normalizeAllowedOrigin(v) !== null, {
          message: "is not a host name, *.host or http(s) origin",
        })
        .transform((v) => normalizeAllowedOrigin(v) as string),
    )
    .max(100, { message: "must list at most 100 entries" })
    .optional(),
  /** The tag may send its own revenue; off: the offer's (or event's) default payout is used. */
  tagRevenue: z.boolean().optional(),
  /** Conversions one hit may collect through the tag. */
  tagConversionsPerHit: z
    .number()
    .int()
    .min(1, { message: "must be at least 1 (turn tag conversions off instead)" })
    .max(MAX_TAG_PER_HIT_LIMIT, { message: `must be at most ${MAX_TAG_PER_HIT_LIMIT}` })
    .optional(),
  /**
   * The query parameter the visitor ID is appended under on every redirect (seed: "add it
   * automatically to redirect destinations") and that the tag reads it from.
   */
  visitorIdParam: z
    .string()
    .trim()
    .superRefine((v, ctx) => {
      const problem = visitorIdParamProblem(v);
      if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
});

export const updateWorkspace = workspaceService({
  role: "admin",
  input: updateWorkspaceInput,
  output: workspaceOutput,
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const values = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
      const row = await updateWorkspaceSettings(tx, { workspaceId: ctx.workspace.id, values });
      if (!row) throw notFound("workspace");
      await audit(tx, ctx, {
        action: "workspace.update",
        entity: "workspace",
        entityId: row.id,
        detail: `changed ${Object.keys(values).join(", ") || "nothing"}`,
      });
      return toWorkspaceOutput(row, ctx.actor.role);
    }),
});
