import { sql } from "drizzle-orm";
import type { Database, Executor } from "./client.ts";

/**
 * Runs `fn` in a transaction that Postgres itself confines to one workspace: the role drops to
 * hitrail_tenant (which row-level security applies to) and hitrail.workspace_id is set, so a query
 * that forgot its workspace filter still sees only this tenant's rows.
 */
export async function withWorkspace<T>(
  db: Database,
  workspaceId: string,
  fn: (tx: Executor) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('hitrail.workspace_id', ${workspaceId}, true)`);
    await tx.execute(sql`set local role hitrail_tenant`);
    return fn(tx);
  });
}
