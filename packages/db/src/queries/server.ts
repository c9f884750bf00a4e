import { sql } from "drizzle-orm";
import type postgres from "postgres";
import type { Executor } from "../client.ts";

// Facts about the PostgreSQL server itself (not any workspace's data): what `hitrail doctor` and
// `hitrail start` ask before anything else runs.

/** The server's version string, as `show server_version` gives it. */
export async function serverVersion(db: Executor): Promise<string | null> {
  const [row] = await db.execute<{ server_version: string }>(sql`show server_version`);
  return row?.server_version ?? null;
}

export interface RoleSafety {
  name: string;
  /** A superuser or a role with BYPASSRLS: row-level security does not hold it. */
  privileged: boolean;
  /** Owns the tables: row-level security does not apply to their owner either. */
  owner: boolean;
}

/** The connected role, and whether row-level security can hold it. */
export async function currentRoleSafety(db: Executor): Promise<RoleSafety | null> {
  const [row] = await db.execute<{ name: string; privileged: boolean; owner: boolean }>(
    sql`select current_user as name, (r.rolsuper or r.rolbypassrls) as privileged,
               exists (select 1 from pg_tables t where t.tablename = 'hits' and t.tableowner = current_user) as owner
        from pg_roles r where r.rolname = current_user`,
  );
  return row ?? null;
}

/**
 * Creates a database unless one of that name exists, through a connection to another database
 * (the embedded server's first start). The name is fixed by the caller, never user input.
 */
export async function createDatabaseIfMissing(admin: postgres.Sql, name: string): Promise<boolean> {
  const [exists] = await admin`select 1 from pg_database where datname = ${name}`;
  if (exists) return false;
  await admin`create database ${admin(name)}`;
  return true;
}
