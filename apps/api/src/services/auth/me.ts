import { findUserById, findWorkspaceById, listUserWorkspaces, withWorkspace } from "@hitrail/db";
import { z } from "zod";
import { ROLES } from "../../auth/roles.ts";
import { notFound } from "../../errors.ts";
import type { AccountContext } from "../account.ts";
import { userOutput } from "./schemas.ts";

export const workspaceMembershipOutput = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
});

export const meOutput = z.object({
  kind: z.enum(["user", "api_key"]),
  user: userOutput.nullable(),
  apiKeyId: z.string().nullable(),
  workspaces: z.array(workspaceMembershipOutput),
});

/** The caller and the workspaces they may act in (an API key: its one workspace). */
export async function me({ ctx }: { ctx: AccountContext }): Promise<z.input<typeof meOutput>> {
  const principal = ctx.principal;
  if (!principal) throw notFound("caller");
  if (principal.kind === "api_key") {
    const ws = await withWorkspace(ctx.db, principal.workspaceId, (tx) =>
      findWorkspaceById(tx, { workspaceId: principal.workspaceId }),
    );
    return {
      kind: "api_key",
      user: null,
      apiKeyId: principal.apiKeyId,
      workspaces: ws ? [{ id: ws.id, slug: ws.slug, name: ws.name, role: principal.role }] : [],
    };
  }
  const [user, workspaces] = await Promise.all([
    findUserById(ctx.db, { userId: principal.userId }),
    listUserWorkspaces(ctx.db, { userId: principal.userId }),
  ]);
  if (!user) throw notFound("user");
  return { kind: "user", user, apiKeyId: null, workspaces };
}
