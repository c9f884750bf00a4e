import { type DbClient, findMembership, findWorkspaceById, withWorkspace } from "@hitrail/db";
import { type Logger, scrubError } from "@hitrail/observability";
import { initTRPC, TRPCError, type TRPCMutationProcedure, type TRPCQueryProcedure } from "@trpc/server";
import type { CreateFastifyContextOptions } from "@trpc/server/adapters/fastify";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Limits } from "./auth/limits.ts";
import { type Principal, resolvePrincipal } from "./auth/principal.ts";
import { type Role, roleAtLeast } from "./auth/roles.ts";
import { errorIdOf, ServiceError } from "./errors.ts";
import type { Mailer } from "./mail.ts";
import type { ReadRouting } from "./read-routing.ts";
import type { RoutingNotifier } from "./routing.ts";
import { workspaceId } from "./schemas/common.ts";
import { toTRPCError } from "./service-adapter.ts";
import { type Actor, formatIssues, type ServiceContext, type WorkspaceService } from "./services/context.ts";
import type { ApiSettings, DomainChecks } from "./settings.ts";

export type { Role } from "./auth/roles.ts";

/** The database a procedure reads from, chosen when first asked (see routeReads). */
export type Reads = () => Promise<DbClient>;

export interface ApiContext {
  /** The primary: every write, and the checks of who is calling and what they may do. */
  db: DbClient;
  /** Where read-only procedures read from (the replica when it is fresh enough for this caller). */
  readRouting: ReadRouting;
  logger: Logger;
  settings: ApiSettings;
  domainChecks: DomainChecks;
  limits: Limits;
  mailer: Mailer | null;
  routing: RoutingNotifier | null;
  principal: Principal | null;
  /** The client's address (X-Forwarded-For only from a trusted proxy), for attempt limits. */
  address: string;
  req: FastifyRequest;
  res: FastifyReply;
}

/**
 * Procedures that take credentials or create accounts. Each must arrive alone: batching them would
 * let one request carry many password guesses (and the limits count calls, not requests, anyway).
 */
export const UNBATCHABLE = new Set([
  "auth.signIn",
  "auth.signUp",
  "auth.changePassword",
  "invitations.accept",
  "invitations.signUp",
]);

export function createContextFactory(deps: {
  db: DbClient;
  readRouting: ReadRouting;
  logger: Logger;
  settings: ApiSettings;
  domainChecks: DomainChecks;
  limits: Limits;
  mailer: Mailer | null;
  routing: RoutingNotifier | null;
}) {
  return async ({ req, res, info }: CreateFastifyContextOptions): Promise<ApiContext> => {
    if (info.calls.length > 1) {
      const refused = info.calls.find((c) => UNBATCHABLE.has(c.path));
      if (refused) {
        throw new TRPCError({
          code: "BAD_REQUEST",
          message: `${refused.path} cannot be batched with other calls; send it in a request of its own`,
        });
      }
    }
    return {
      ...deps,
      principal: await resolvePrincipal(deps.db.db, req),
      address: req.ip,
      req,
      res,
    };
  };
}

function zodIssues(cause: unknown): z.core.$ZodIssue[] | null {
  return cause instanceof z.ZodError ? cause.issues : null;
}

const t = initTRPC.context<ApiContext>().create({
  // Never a stack trace in an answer, whatever NODE_ENV says; the log has it.
  isDev: false,
  errorFormatter({ shape, error }) {
    if (error.code === "INTERNAL_SERVER_ERROR") {
      // Whatever went wrong (a query, its parameters, a hash) stays in the log line with this id.
      const errorId = errorIdOf(error);
      return {
        ...shape,
        message: `something went wrong on our side; if it persists, report error id ${errorId}`,
        data: { code: shape.data.code, httpStatus: shape.data.httpStatus, path: shape.data.path, errorId },
      };
    }
    // Bad input names its fields in the message itself, not in a JSON dump of zod's issues.
    const issues = error.code === "BAD_REQUEST" ? zodIssues(error.cause) : null;
    const details = error.cause instanceof ServiceError ? error.cause.details : undefined;
    return {
      ...shape,
      message: issues ? formatIssues(issues) : shape.message,
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        ...(issues ? { issues: issues.map((i) => ({ path: i.path.map(String), message: i.message })) } : {}),
        ...(details !== undefined ? { details } : {}),
      },
    };
  },
});

export const router = t.router;

/** Domain and database errors become tRPC errors here, for every procedure. */
const errorAdapter = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const mapped = toTRPCError(result.error.cause ?? result.error);
    if (mapped) throw mapped;
  }
  return result;
});

export const publicProcedure = t.procedure.use(errorAdapter);

/**
 * The one place reads and writes part ways: a query gets `reads`, the replica when it is fresh enough
 * for this caller, else the primary; a mutation gets the primary and leaves its WAL position behind
 * so the caller's next reads wait for the replica to replay it. A query the replica fails (gone,
 * cancelled by replay) runs again on the primary: it is read-only, so running it twice is harmless.
 */
const routeReads = t.middleware(async ({ ctx, type, path, next }) => {
  const principal = ctx.principal;
  const primary: Reads = async () => ctx.db;
  if (type !== "query") {
    try {
      return await next({ ctx: { reads: primary } });
    } finally {
      await ctx.readRouting.wrote(principal);
    }
  }
  // Chosen on first use, so a query that reads only the primary costs no routing look-up.
  const chosen: { route?: ReturnType<ReadRouting["forRead"]> } = {};
  const reads: Reads = async () => {
    chosen.route ??= ctx.readRouting.forRead(principal);
    return (await chosen.route).db;
  };
  const result = await next({ ctx: { reads } });
  const usedReplica = chosen.route !== undefined && (await chosen.route).target === "replica";
  if (!result.ok && usedReplica && ctx.readRouting.failedOnReplica(result.error)) {
    ctx.logger.warn(
      { err: scrubError(result.error.cause ?? result.error), path },
      "read failed on the replica; running it again on the primary",
    );
    return next({ ctx: { reads: primary } });
  }
  return result;
});

/** Procedures for any signed-in user or API key, outside one workspace. */
export const authedProcedure = publicProcedure
  .use(({ ctx, next }) => {
    if (!ctx.principal) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in or send an API key" });
    return next({ ctx: { ...ctx, principal: ctx.principal } });
  })
  .use(routeReads);

/** Procedures for signed-in users only: API keys act inside their one workspace, never on accounts. */
export const userProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.principal.kind !== "user") {
    throw new TRPCError({ code: "FORBIDDEN", message: "this needs a signed-in user, not an API key" });
  }
  return next({ ctx: { ...ctx, principal: ctx.principal } });
});

/**
 * Procedures acting inside one workspace (`input.workspaceId`) with at least `role`. A workspace the
 * caller does not belong to is "not found", exactly like one that does not exist.
 */
export const workspaceProcedure = (role: Role) =>
  authedProcedure.input(z.object({ workspaceId })).use(async ({ ctx, input, next }) => {
    const principal = ctx.principal;
    const { actor, workspace } = await withWorkspace(ctx.db.db, input.workspaceId, async (tx) => {
      let actor: Actor | null = null;
      if (principal.kind === "api_key") {
        if (principal.workspaceId === input.workspaceId) {
          actor = { kind: "api_key", apiKeyId: principal.apiKeyId, role: principal.role };
        }
      } else {
        const membership = await findMembership(tx, {
          workspaceId: input.workspaceId,
          userId: principal.userId,
        });
        if (membership) actor = { kind: "user", userId: principal.userId, role: membership.role };
      }
      const workspace = actor ? await findWorkspaceById(tx, { workspaceId: input.workspaceId }) : undefined;
      return { actor, workspace };
    });
    if (!actor || !workspace) throw new TRPCError({ code: "NOT_FOUND", message: "workspace not found" });
    if (!roleAtLeast(actor.role, role)) {
      throw new TRPCError({ code: "FORBIDDEN", message: `this needs the ${role} role in this workspace` });
    }
    return next({ ctx: { ...ctx, workspace, actor } });
  });

async function serviceContext(
  ctx: ApiContext & { reads: Reads } & Pick<ServiceContext, "workspace" | "actor">,
): Promise<ServiceContext> {
  return {
    // A query's service reads where routeReads sent it; a mutation's gets the primary.
    db: (await ctx.reads()).db,
    workspace: ctx.workspace,
    actor: ctx.actor,
    settings: ctx.settings,
    domainChecks: ctx.domainChecks,
    mailer: ctx.mailer,
    routing: ctx.routing,
  };
}

// An empty zod object infers as Record<string, never>, which would forbid workspaceId itself.
type WorkspaceInput<S extends z.ZodType> = { workspaceId: string } & (string extends keyof z.input<S>
  ? unknown
  : z.input<S>);
type ServiceProcedureDef<S extends z.ZodType, O extends z.ZodType> = {
  input: WorkspaceInput<S>;
  output: z.output<O>;
  meta: object;
};

// tRPC's builder cannot check a parser whose type is still a generic parameter, so the builder sees
// plain zod types and the procedure's type is stated from the service's own schemas instead.
function bind<S extends z.ZodType, O extends z.ZodType>(service: WorkspaceService<S, O>) {
  return {
    procedure: workspaceProcedure(service.role)
      .input(service.input as unknown as z.ZodObject)
      .output(service.output as z.ZodType),
    resolve: async ({ ctx, input }: { ctx: Parameters<typeof serviceContext>[0]; input: unknown }) =>
      service.execute({ ctx: await serviceContext(ctx), input: input as z.output<S> }),
  };
}

/** A read of a workspace service: its role gates the call, its schemas check both ways. */
export function serviceQuery<S extends z.ZodType, O extends z.ZodType>(
  service: WorkspaceService<S, O>,
): TRPCQueryProcedure<ServiceProcedureDef<S, O>> {
  const { procedure, resolve } = bind(service);
  return procedure.query(resolve) as unknown as TRPCQueryProcedure<ServiceProcedureDef<S, O>>;
}

/** A change through a workspace service: its role gates the call, its schemas check both ways. */
export function serviceMutation<S extends z.ZodType, O extends z.ZodType>(
  service: WorkspaceService<S, O>,
): TRPCMutationProcedure<ServiceProcedureDef<S, O>> {
  const { procedure, resolve } = bind(service);
  return procedure.mutation(resolve) as unknown as TRPCMutationProcedure<ServiceProcedureDef<S, O>>;
}
