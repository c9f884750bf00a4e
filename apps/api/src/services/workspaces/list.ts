import { z } from "zod";
import type { AccountContext } from "../account.ts";
import { me, workspaceMembershipOutput } from "../auth/me.ts";

export const listWorkspacesOutput = z.array(workspaceMembershipOutput);

/** The workspaces the caller may act in, with their role in each. */
export async function listWorkspaces({ ctx }: { ctx: AccountContext }) {
  return (await me({ ctx })).workspaces;
}
