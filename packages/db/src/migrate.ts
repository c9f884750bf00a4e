import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import { createDb, type Database } from "./client.ts";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../drizzle", import.meta.url));
// Any constant works; it only has to be the same in every process that migrates.
const MIGRATION_LOCK = 7_426_372_001;

interface Journal {
  entries: Array<{ idx: number; tag: string; when: number }>;
}

export function migrationJournal(): Journal {
  return JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/meta/_journal.json`, "utf8")) as Journal;
}

/**
 * Applies pending migrations on one dedicated connection holding a session advisory lock, so
 * several processes starting at once apply each migration exactly once.
 */
export async function runMigrations(url: string): Promise<{ applied: number }> {
  const client = createDb(url, { max: 1, applicationName: "hitrail-migrate" });
  try {
    const { db } = client;
    await db.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK})`);
    try {
      const before = await appliedMigrationCount(db);
      await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
      await db.execute(sql`select hitrail_ensure_hit_partitions(1, 3)`);
      await db.execute(sql`select hitrail_ensure_postback_log_partitions(1, 3)`);
      await db.execute(sql`select hitrail_apply_tenant_policies()`);
      return { applied: (await appliedMigrationCount(db)) - before };
    } finally {
      await db.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK})`);
    }
  } finally {
    await client.close();
  }
}

export async function appliedMigrationCount(db: Database): Promise<number> {
  const exists = await db.execute<{ ok: boolean }>(
    sql`select to_regclass('drizzle.__drizzle_migrations') is not null as ok`,
  );
  if (!exists[0]?.ok) return 0;
  const rows = await db.execute<{ n: number }>(
    sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
  );
  return rows[0]?.n ?? 0;
}

/** What `doctor` reports: how many migrations exist in the code and how many the database has. */
export async function migrationStatus(
  db: Database,
): Promise<{ known: number; applied: number; pending: number }> {
  const known = migrationJournal().entries.length;
  const applied = await appliedMigrationCount(db);
  return { known, applied, pending: Math.max(0, known - applied) };
}
