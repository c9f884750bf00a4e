import { type Database, type Executor, insertAuditRow, type WorkspaceRow, withWorkspace } from "@hitrail/db";
import type { z } from "zod";
import { type Role, roleAtLeast } from "../auth/roles.ts";
import { badRequest, forbidden } from "../errors.ts";
import type { Mailer } from "../mail.ts";
import type { RoutingNotifier } from "../routing.ts";
import type { ApiSettings, DomainChecks } from "../settings.ts";

/** Who acts inside a workspace, with the role they hold there. */
export type Actor =
  | { kind: "user"; userId: string; role: Role }
  | { kind: "api_key"; apiKeyId: string; role: Role };

/** What every workspace service gets: the openstatus shape `{ ctx: { workspace, actor, db }, input }`. */
export interface ServiceContext {
  db: Database;
  workspace: WorkspaceRow;
  actor: Actor;
  settings: ApiSettings;
  domainChecks: DomainChecks;
  /** Outgoing email when SMTP is configured. */
  mailer: Mailer | null;
  /** Tells trackers about saved funnels at once; absent where no tracker listens (some tests). */
  routing?: RoutingNotifier | null;
}

/** The scope check every service starts with. */
export function authorize(actor: Actor, needed: Role): void {
  if (!roleAtLeast(actor.role, needed)) throw forbidden(`this needs the ${needed} role in this workspace`);
}

/** Zod issues as one sentence per field: "offerSourceId: Invalid UUID; url: must be an http(s) URL". */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      const path = i.path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".");
      return path ? `${path.replace(/\.\[/g, "[")}: ${i.message}` : i.message;
    })
    .join("; ");
}

export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw badRequest(formatIssues(parsed.error.issues));
  return parsed.data;
}

/**
 * Runs `fn` in a transaction confined to the workspace by row-level security (the second wall
 * behind every query's own workspace filter).
 */
export function inWorkspace<T>(ctx: ServiceContext, fn: (tx: Executor) => Promise<T>): Promise<T> {
  return withWorkspace(ctx.db, ctx.workspace.id, fn);
}

export interface AuditEntry {
  action: string;
  entity: string;
  entityId?: string | null;
  detail?: string | null;
}

/** The audit row of a change, written in the change's own transaction. */
export function audit(tx: Executor, ctx: Pick<ServiceContext, "workspace" | "actor">, entry: AuditEntry) {
  return insertAuditRow(tx, {
    workspaceId: ctx.workspace.id,
    actorUserId: ctx.actor.kind === "user" ? ctx.actor.userId : null,
    actorApiKeyId: ctx.actor.kind === "api_key" ? ctx.actor.apiKeyId : null,
    action: entry.action,
    entity: entry.entity,
    entityId: entry.entityId ?? null,
    detail: entry.detail ?? null,
  });
}

export interface WorkspaceService<S extends z.ZodType, O extends z.ZodType> {
  role: Role;
  input: S;
  output: O;
  /** For callers that already parsed the input (the router): scope check, then the work. */
  execute(args: { ctx: ServiceContext; input: z.output<S> }): Promise<z.input<O>>;
  /** For any other caller: scope check, input parsed, then the work. */
  call(args: { ctx: ServiceContext; input: z.input<S> }): Promise<z.input<O>>;
}

/** One verb of one entity: the role it needs, its input and output schemas, and the work. */
export function workspaceService<S extends z.ZodType, O extends z.ZodType>(def: {
  role: Role;
  input: S;
  output: O;
  run: (args: { ctx: ServiceContext; input: z.output<S> }) => Promise<z.input<O>>;
}): WorkspaceService<S, O> {
  return {
    role: def.role,
    input: def.input,
    output: def.output,
    async execute({ ctx, input }) {
      authorize(ctx.actor, def.role);
      return def.run({ ctx, input });
    },
    async call({ ctx, input }) {
      authorize(ctx.actor, def.role);
      return def.run({ ctx, input: parseInput(def.input, input) });
    },
  };
}
