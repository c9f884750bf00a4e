import { createWorkspaceForUser, createWorkspaceInput } from "../services/workspaces/create.ts";
import { getWorkspace } from "../services/workspaces/get.ts";
import { listWorkspaces, listWorkspacesOutput } from "../services/workspaces/list.ts";
import { workspaceOutput } from "../services/workspaces/schemas.ts";
import { setPostbackSecret } from "../services/workspaces/set-postback-secret.ts";
import { updateWorkspace } from "../services/workspaces/update.ts";
import { authedProcedure, router, serviceMutation, serviceQuery, userProcedure } from "../trpc.ts";

export const workspacesRouter = router({
  list: authedProcedure
    .output(listWorkspacesOutput)
    .query(({ ctx }) => listWorkspaces({ ctx: { ...ctx, db: ctx.db.db } })),
  create: userProcedure
    .input(createWorkspaceInput)
    .output(workspaceOutput)
    .mutation(({ ctx, input }) => createWorkspaceForUser({ ctx: { ...ctx, db: ctx.db.db }, input })),
  get: serviceQuery(getWorkspace),
  update: serviceMutation(updateWorkspace),
  setPostbackSecret: serviceMutation(setPostbackSecret),
});
