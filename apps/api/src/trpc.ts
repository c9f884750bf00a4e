import type { DbClient, Executor } from "@hitrail/db";
import { findApiKey } from "@hitrail/db";
import type { Logger } from "@hitrail/observability";
import { initTRPC, TRPCError } from "@trpc/server";
import type { CreateFastifyContextOptions } from "@trpc/server/adapters/fastify";

export type Role = "owner" | "admin" | "member" | "viewer";
const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

export interface Actor {
  kind: "api_key";
  apiKeyId: string;
  workspaceId: string;
  role: Role;
}

export interface ApiContext {
  db: DbClient;
  logger: Logger;
  actor: Actor | null;
}

export function createContextFactory(deps: { db: DbClient; logger: Logger }) {
  return async ({ req }: CreateFastifyContextOptions): Promise<ApiContext> => {
    const header = req.headers.authorization;
    let actor: Actor | null = null;
    if (header?.startsWith("Bearer ")) {
      const key = await findApiKey(deps.db.db as Executor, header.slice(7).trim());
      if (key) actor = { kind: "api_key", apiKeyId: key.id, workspaceId: key.workspaceId, role: key.role };
    }
    return { db: deps.db, logger: deps.logger, actor };
  };
}

const t = initTRPC.context<ApiContext>().create();

export const router = t.router;
export const publicProcedure = t.procedure;

/** Procedures that act inside one workspace with at least `role`. */
export const workspaceProcedure = (role: Role) =>
  t.procedure.use(({ ctx, next }) => {
    if (!ctx.actor) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in or send an API key" });
    if (RANK[ctx.actor.role] < RANK[role]) {
      throw new TRPCError({ code: "FORBIDDEN", message: `this needs the ${role} role` });
    }
    return next({ ctx: { ...ctx, actor: ctx.actor } });
  });
