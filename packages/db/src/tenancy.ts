import { type SQL, sql } from "drizzle-orm";
import type postgres from "postgres";
import type { Executor } from "./client.ts";

// Row-level security (docs/security-tenancy.md): the apps connect as a role that is neither the
// tables' owner nor a superuser, and every tenant table forces its policies. A transaction sees the
// workspaces named in `hitrail.workspace_id` and nothing else; a statement run without it sees no
// tenant row at all. The settings are transaction-local (set_config(…, true)): they end with the
// transaction, and there is no role to RESET back to.

/** The value of hitrail.workspace_id for these workspaces: one id, or several joined by commas. */
export function workspaceScope(workspaceIds: string | readonly string[]): string {
  const ids = typeof workspaceIds === "string" ? [workspaceIds] : [...new Set(workspaceIds)];
  return ids.join(",");
}

/** `select set_config('hitrail.workspace_id', …, true)`: the first statement of a tenant transaction. */
export function workspaceScopeSql(workspaceIds: string | readonly string[]): SQL {
  return sql`select set_config('hitrail.workspace_id', ${workspaceScope(workspaceIds)}, true)`;
}

/** The same statement as plain text with one parameter ($1 = workspaceScope(ids)), for raw pipelines. */
export const WORKSPACE_SCOPE_STATEMENT = "select set_config('hitrail.workspace_id', $1, true)";

/**
 * Runs `fn` in a transaction that Postgres itself confines to the given workspace(s): a query that
 * forgot its workspace filter still sees only their rows, and cannot write into another one. On an
 * open transaction it nests as a savepoint, and the setting stays for the rest of that transaction.
 */
export async function withWorkspace<T>(
  db: Executor,
  workspaceIds: string | readonly string[],
  fn: (tx: Executor) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(workspaceScopeSql(workspaceIds));
    return fn(tx);
  });
}

/**
 * Keys of the narrow look-ups across workspaces (policies `lookup_*`): each shows, read-only, only the
 * rows matching the key the caller holds.
 * - host: the verified tracking domain with this host and its workspace;
 * - claimHost: the unverified claims of this host (the tracker serves their HTTP tokens);
 * - slug: the workspace with this slug;
 * - userId: this user's memberships and their workspaces;
 * - apiKeyHash: the API key with this hash;
 * - invitationTokenHash: the invitation whose link token has this hash.
 */
export interface Lookup {
  host?: string;
  claimHost?: string;
  slug?: string;
  userId?: string;
  apiKeyHash?: string;
  invitationTokenHash?: string;
}

/** Runs `fn` in a transaction that may read what `lookup` names (and no tenant rows otherwise). */
export async function withLookup<T>(
  db: Executor,
  lookup: Lookup,
  fn: (tx: Executor) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(
      sql`select set_config('hitrail.lookup_host', ${lookup.host ?? ""}, true),
                 set_config('hitrail.lookup_claim_host', ${lookup.claimHost ?? ""}, true),
                 set_config('hitrail.lookup_slug', ${lookup.slug ?? ""}, true),
                 set_config('hitrail.lookup_user', ${lookup.userId ?? ""}, true),
                 set_config('hitrail.lookup_api_key', ${lookup.apiKeyHash ?? ""}, true),
                 set_config('hitrail.lookup_invitation', ${lookup.invitationTokenHash ?? ""}, true)`,
    );
    return fn(tx);
  });
}

/**
 * One prepared statement in a transaction scoped to `workspaceIds`, for the hot paths' group commit:
 * BEGIN, the setting, the statement and COMMIT go out together on one connection (one round trip).
 * A failing statement rolls the transaction back (COMMIT of an aborted transaction) and rejects.
 */
export async function runInWorkspaces(
  client: postgres.Sql,
  workspaceIds: readonly string[],
  query: string,
  params: unknown[],
): Promise<void> {
  const conn = await client.reserve();
  try {
    const results = await Promise.allSettled([
      conn.unsafe("begin"),
      conn.unsafe(WORKSPACE_SCOPE_STATEMENT, [workspaceScope(workspaceIds)], { prepare: true }),
      conn.unsafe(query, params as postgres.ParameterOrJSON<never>[], { prepare: true }),
      conn.unsafe("commit"),
    ]);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) {
      // COMMIT already ended an aborted transaction; after any other failure end it here.
      await conn.unsafe("rollback").catch(() => {});
      throw (failed as PromiseRejectedResult).reason;
    }
  } finally {
    conn.release();
  }
}
