import { createWorkspace, insertAuditRow, SLUG_RE } from "@hitrail/db";
import { z } from "zod";
import { currency, name, timeZone } from "../../schemas/common.ts";
import type { AccountContext, UserPrincipal } from "../account.ts";
import { parseInput } from "../context.ts";
import { toWorkspaceOutput } from "./schemas.ts";

export const createWorkspaceInput = z.object({
  name,
  slug: z.string().trim().toLowerCase().regex(SLUG_RE, {
    message: "must be 1-40 lower-case letters, digits or '-', not starting or ending with '-'",
  }),
  timeZone: timeZone.optional(),
  currency: currency.optional(),
});

/**
 * Creates a workspace owned by the signed-in user, with its default tracking domain
 * `{slug}.{base domain}` verified at birth. A taken slug (or host) is a CONFLICT.
 */
export async function createWorkspaceForUser({
  ctx,
  input,
}: {
  ctx: AccountContext & { principal: UserPrincipal };
  input: z.input<typeof createWorkspaceInput>;
}) {
  const data = parseInput(createWorkspaceInput, input);
  return ctx.db.transaction(async (tx) => {
    const { workspace, host } = await createWorkspace(tx, {
      slug: data.slug,
      name: data.name,
      baseDomain: ctx.settings.baseDomain,
      ...(data.timeZone ? { timeZone: data.timeZone } : {}),
      ...(data.currency ? { currency: data.currency } : {}),
      ownerUserId: ctx.principal.userId,
    });
    await insertAuditRow(tx, {
      workspaceId: workspace.id,
      actorUserId: ctx.principal.userId,
      action: "workspace.create",
      entity: "workspace",
      entityId: workspace.id,
      detail: `default domain ${host}`,
    });
    return toWorkspaceOutput(workspace, "owner");
  });
}
