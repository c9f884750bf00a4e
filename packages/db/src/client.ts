import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema/index.ts";

export type Schema = typeof schema;
export type Database = PostgresJsDatabase<Schema>;
/** A database handle or an open transaction: queries accept either. */
export type Executor = Database | Parameters<Parameters<Database["transaction"]>[0]>[0];

export interface DbClient {
  db: Database;
  sql: postgres.Sql;
  close: (timeoutSeconds?: number) => Promise<void>;
}

export interface DbOptions {
  max?: number;
  /** Identifies the process in pg_stat_activity. */
  applicationName?: string;
  connectTimeoutSeconds?: number;
}

export function createDb(url: string, opts: DbOptions = {}): DbClient {
  const sql = postgres(url, {
    max: opts.max ?? 10,
    connect_timeout: opts.connectTimeoutSeconds ?? 10,
    idle_timeout: 60,
    onnotice: () => {},
    connection: { application_name: opts.applicationName ?? "hitrail" },
    // numeric stays a string (money is exact); bigint counts come back as numbers where safe.
    types: { bigint: postgres.BigInt },
  });
  const db = drizzle(sql, { schema, casing: "snake_case" });
  return { db, sql, close: (timeout = 5) => sql.end({ timeout }) };
}

/** Fails fast with the driver's error when the server is unreachable or refuses us. */
export async function ping(sql: postgres.Sql): Promise<void> {
  await sql`select 1`;
}
