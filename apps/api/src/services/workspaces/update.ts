import { parseIpRange } from "@hitrail/core";
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
