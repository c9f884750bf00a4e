import { reservedSlugReason } from "@hitrail/core";
import { countOwnedWorkspacesLocked, createWorkspace, insertAuditRow, SLUG_RE } from "@hitrail/db";
import { z } from "zod";
import { forbidden } from "../../errors.ts";
import { currency, name, timeZone } from "../../schemas/common.ts";
import type { AccountContext, UserPrincipal } from "../account.ts";
import { parseInput } from "../context.ts";
import { toWorkspaceOutput } from "./schemas.ts";

export const createWorkspaceInput = z.object({
  name,
  slug: z
    .string()
    .trim()
    .toLowerCase()
    .regex(SLUG_RE, {
      message: "must be 1-40 lower-case letters, digits or '-', not starting or ending with '-'",
    })
    .superRefine((slug, check) => {
      const reason = reservedSlugReason(slug);
      if (reason) check.addIssue({ code: "custom", message: `${reason}; choose another` });
    }),
  timeZone: timeZone.optional(),
  currency: currency.optional(),
});

/**
 * Creates a workspace owned by the signed-in user, with its default tracking domain
 * `{slug}.{base domain}` verified at birth. A taken slug (or host) is a CONFLICT, a reserved one
 * (www, api, xn--…) a BAD_REQUEST, and an account at its workspace limit is refused.
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
    const owned = await countOwnedWorkspacesLocked(tx, { userId: ctx.principal.userId });
    if (owned >= ctx.settings.maxWorkspacesPerAccount) {
      throw forbidden(
        `an account may own at most ${ctx.settings.maxWorkspacesPerAccount} workspaces on this server; ask the operator to raise MAX_WORKSPACES_PER_ACCOUNT`,
      );
    }
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
