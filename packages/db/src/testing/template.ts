import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { startEmbeddedPostgres } from "../embedded.ts";
import { runMigrations } from "../migrate.ts";

declare module "vitest" {
  export interface ProvidedContext {
    hitrailDb: TestDatabaseInfo;
  }
}

export interface TestDatabaseInfo {
  /** A URL to a maintenance database on the test server (creates and drops per-file databases). */
  adminUrl: string;
  /** Migrated database every test file clones. */
  template: string;
}

const LOCAL = "postgres://postgres@127.0.0.1:5432/postgres";

async function reachable(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The login roles tests (and `pnpm start`, the benchmarks) run the apps as; `hitrail migrate` provisions them. */
export const TEST_ROLES = {
  app: { user: "hitrail_app", password: "hitrail_app" },
  maintenance: { user: "hitrail_maintainer", password: "hitrail_maintainer" },
} as const;

/** The same server and database as `url`, as another user. */
export function withUser(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
}

/** URLs of the app and maintenance roles on the database `url` points at. */
export function roleUrls(url: string): { app: string; maintenance: string } {
  return {
    app: withUser(url, TEST_ROLES.app.user, TEST_ROLES.app.password),
    maintenance: withUser(url, TEST_ROLES.maintenance.user, TEST_ROLES.maintenance.password),
  };
}

/** DATABASE_URL when set, else the local server, else embedded PostgreSQL in a temp folder. */
async function testServer(): Promise<{ adminUrl: string; stop: () => Promise<void> }> {
  const configured = process.env.DATABASE_URL;
  if (configured) return { adminUrl: configured, stop: async () => {} };
  if (await reachable(LOCAL)) return { adminUrl: LOCAL, stop: async () => {} };
  const dir = await mkdtemp(path.join(tmpdir(), "hitrail-test-pg-"));
  const port = 15_432 + Math.floor(Math.random() * 1000);
  const embedded = await startEmbeddedPostgres({ dataDir: path.join(dir, "data"), port });
  return {
    adminUrl: embedded.url,
    stop: async () => {
      await embedded.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function prepareTemplate(): Promise<{ info: TestDatabaseInfo; teardown: () => Promise<void> }> {
  const server = await testServer();
  const template = `hitrail_tpl_${randomBytes(4).toString("hex")}`;
  const admin = postgres(server.adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${template}"`);
  const templateUrl = withDatabase(server.adminUrl, template);
  await runMigrations(templateUrl, roleUrls(templateUrl));
  return {
    info: { adminUrl: server.adminUrl, template },
    teardown: async () => {
      await admin.unsafe(`drop database if exists "${template}" with (force)`);
      await admin.end({ timeout: 1 });
      await server.stop();
    },
  };
}
