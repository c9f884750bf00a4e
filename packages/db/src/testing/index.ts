import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { inject } from "vitest";
import { createDb, type DbClient } from "../client.ts";
import { roleUrls, withDatabase } from "./template.ts";

export { factories } from "./factories.ts";
export type { TestDatabaseInfo } from "./template.ts";
export { roleUrls, TEST_ROLES, withDatabase, withUser } from "./template.ts";

/**
 * The database as its owner (a superuser on the test server: `db`, `sql` and `url`, for factories and
 * assertions that look across workspaces), and as the roles the apps run as: `appUrl`/`app` (row-level
 * security applies) and `maintenanceUrl` (the worker's maintenance). Apps under test get the latter.
 */
export interface TestDatabase extends DbClient {
  url: string;
  appUrl: string;
  maintenanceUrl: string;
  app: DbClient;
  name: string;
  drop: () => Promise<void>;
}

/**
 * A fresh database cloned from the migrated template: each test file gets its own, so files run
 * in parallel and leave nothing behind.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const { adminUrl, template } = inject("hitrailDb");
  const name = `hitrail_t_${randomBytes(5).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    // CREATE DATABASE … TEMPLATE fails while another session is connected to the template.
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.unsafe(`create database "${name}" template "${template}"`);
        break;
      } catch (error) {
        if (attempt > 40 || (error as { code?: string }).code !== "55006") throw error;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
      }
    }
  } finally {
    await admin.end({ timeout: 1 });
  }
  const url = withDatabase(adminUrl, name);
  const client = createDb(url, { max: 5 });
  const roles = roleUrls(url);
  const app = createDb(roles.app, { max: 3 });
  return {
    ...client,
    url,
    appUrl: roles.app,
    maintenanceUrl: roles.maintenance,
    app,
    name,
    drop: async () => {
      await client.close(1);
      await app.close(1);
      const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists "${name}" with (force)`);
      await a.end({ timeout: 1 });
    },
  };
}

/** A Redis key prefix unique to one test file. */
export function testRedisPrefix(label = "t"): string {
  return `hitrail-test:${label}:${randomBytes(5).toString("hex")}`;
}

/** The Redis test files use: REDIS_URL when set, else the local server. */
export function testRedisUrl(): string {
  return process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
}
