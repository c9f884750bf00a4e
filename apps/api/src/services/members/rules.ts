import { countOwnersForUpdate, type Executor, findMembership, type WorkspaceRole } from "@hitrail/db";
import { roleAtLeast } from "../../auth/roles.ts";
import { forbidden, notFound, ServiceError } from "../../errors.ts";
import type { ServiceContext } from "../context.ts";

/**
 * The member a change touches, once the caller may touch them: nobody changes someone who outranks
 * them, and a workspace always keeps an owner.
 */
export async function memberForChange(
  tx: Executor,
  ctx: ServiceContext,
  input: { userId: string; newRole: WorkspaceRole | null },
): Promise<{ role: WorkspaceRole }> {
  const target = await findMembership(tx, { workspaceId: ctx.workspace.id, userId: input.userId });
  if (!target) throw notFound("member");
  if (!roleAtLeast(ctx.actor.role, target.role)) {
    throw forbidden(`userId: this member is ${target.role}, above your own role`);
  }
  if (input.newRole && !roleAtLeast(ctx.actor.role, input.newRole)) {
    throw forbidden(`role: you cannot grant ${input.newRole}, which is above your own role`);
  }
  if (target.role === "owner" && input.newRole !== "owner") {
    const owners = await countOwnersForUpdate(tx, { workspaceId: ctx.workspace.id });
    if (owners <= 1) {
      throw new ServiceError(
        "PRECONDITION_FAILED",
        "a workspace needs an owner; make someone else owner first",
      );
    }
  }
  return target;
}
