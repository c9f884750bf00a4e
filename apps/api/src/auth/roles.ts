import type { WorkspaceRole } from "@hitrail/db";

/** Workspace roles, from the schema's enum, weakest first. */
export type Role = WorkspaceRole;
export const ROLES = ["viewer", "member", "admin", "owner"] as const satisfies readonly Role[];

const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

export function roleAtLeast(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}
