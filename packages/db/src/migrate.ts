import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import type postgres from "postgres";
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
export async function runMigrations(
  url: string,
  roles: RoleUrls = {},
): Promise<{ applied: number; roles: string[] }> {
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
      const provisioned = await provisionRoles(client.sql, roles);
      return { applied: (await appliedMigrationCount(db)) - before, roles: provisioned };
    } finally {
      await db.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK})`);
    }
  } finally {
    await client.close();
  }
}

/** The login roles `hitrail migrate` provisions, each named (and its password given) by its URL. */
export interface RoleUrls {
  /** DATABASE_URL of the apps: gets hitrail_tenant (row-level security applies). */
  app?: string | undefined;
  /** MAINTENANCE_DATABASE_URL of the worker's maintenance: gets hitrail_maintenance. */
  maintenance?: string | undefined;
}

const GROUP_OF = { app: "hitrail_tenant", maintenance: "hitrail_maintenance" } as const;

function roleOf(url: string): { name: string; password: string | null } {
  const u = new URL(url);
  const name = decodeURIComponent(u.username);
  if (!name)
    throw new Error("a database URL for an app role must name its user (postgres://USER:PASSWORD@…)");
  return { name, password: u.password ? decodeURIComponent(u.password) : null };
}

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Creates (or checks) the login roles the apps connect as and grants each its group role; idempotent.
 * Refuses a role that is the owner itself, a superuser, or may bypass row-level security, since the
 * point of the app role is that Postgres holds it to the tenant policies.
 */
export async function provisionRoles(owner: postgres.Sql, urls: RoleUrls): Promise<string[]> {
  const done: string[] = [];
  const [me] = await owner<{ name: string }[]>`select current_user as name`;
  for (const kind of ["app", "maintenance"] as const) {
    const url = urls[kind];
    if (!url) continue;
    const { name, password } = roleOf(url);
    if (name === me?.name) {
      throw new Error(
        `the ${kind} database URL connects as '${name}', the role migrations run as: give the apps a role of their own (docs/security-tenancy.md)`,
      );
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const [existing] = await owner<{ super: boolean; bypass: boolean }[]>`
          select rolsuper as super, rolbypassrls as bypass from pg_roles where rolname = ${name}`;
        if (existing && (existing.super || existing.bypass)) {
          throw new Error(
            `role '${name}' (${kind} database URL) is a superuser or bypasses row-level security; give the apps a plain role`,
          );
        }
        const ident = `"${name.replace(/"/g, '""')}"`;
        const pw = password === null ? "" : ` password ${literal(password)}`;
        if (!existing) {
          await owner.unsafe(
            `create role ${ident} login nosuperuser nobypassrls nocreatedb nocreaterole noreplication inherit${pw}`,
          );
        } else if (password !== null) {
          await owner.unsafe(`alter role ${ident} login${pw}`);
        }
        await owner.unsafe(`grant ${GROUP_OF[kind]} to ${ident}`);
        break;
      } catch (error) {
        const code = (error as { code?: string }).code;
        // Several processes provisioning on one server at once: the loser retries.
        if (attempt < 5 && (code === "42710" || code === "23505" || code === "XX000" || code === "40001")) {
          await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
          continue;
        }
        throw error;
      }
    }
    done.push(name);
  }
  return done;
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
