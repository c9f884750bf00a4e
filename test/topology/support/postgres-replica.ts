import { execFile } from "node:child_process";
import { appendFile, chmod, chown, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";

const run = promisify(execFile);

// PostgreSQL 15's own tools, as an operator would set up streaming replication by hand.
const INITDB = "/usr/local/bin/initdb";
const PG_CTL = "/usr/local/bin/pg_ctl";
const PG_BASEBACKUP = "/usr/bin/pg_basebackup";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Postgres refuses to run as root: as root, its commands run as the `postgres` user. */
async function asPostgres(bin: string, args: string[]): Promise<void> {
  if (userInfo().uid === 0) await run("runuser", ["-u", "postgres", "--", bin, ...args]);
  else await run(bin, args);
}

export interface PostgresReplicaPair {
  /** Superuser URL of the primary (`database` defaults to postgres). */
  primaryUrl(database?: string): string;
  /** Superuser URL of the streaming replica (read-only). */
  replicaUrl(database?: string): string;
  /** Stops replaying WAL on the replica (it keeps receiving): a lag we control. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Waits until the replica has replayed everything the primary had written when called. */
  caughtUp(): Promise<void>;
  /** Stops the replica server (`pg_ctl stop -m fast`), as a crash or failover would take it away. */
  stopReplica(): Promise<void>;
  startReplica(): Promise<void>;
  /** Stops both servers and removes their folders. */
  stop(): Promise<void>;
}

/**
 * A PostgreSQL primary and a streaming replica of it (initdb, then `pg_basebackup -R`), each in a
 * temp folder on a free port, trust authentication on 127.0.0.1 only. The suite's own servers, never
 * the machine's shared one.
 */
export async function startPostgresReplicaPair(): Promise<PostgresReplicaPair> {
  const dir = await mkdtemp(path.join(tmpdir(), "hitrail-topology-pg-"));
  if (userInfo().uid === 0) {
    const { stdout: uid } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    await chown(dir, Number(uid.trim()), Number(gid.trim()));
    await chmod(dir, 0o700);
  }
  const primaryDir = path.join(dir, "primary");
  const replicaDir = path.join(dir, "replica");
  const primaryPort = await freePort();
  const replicaPort = await freePort();
  const url = (port: number, database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const start = (data: string, port: number, log: string) =>
    asPostgres(PG_CTL, [
      "-D",
      data,
      "-l",
      path.join(dir, log),
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`,
      "-w",
      "-t",
      "60",
      "start",
    ]);
  const stopServer = (data: string) => asPostgres(PG_CTL, ["-D", data, "-m", "fast", "-w", "stop"]);

  await asPostgres(INITDB, ["-D", primaryDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  await appendFile(
    path.join(primaryDir, "postgresql.conf"),
    "\nwal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n",
  );
  await appendFile(path.join(primaryDir, "pg_hba.conf"), "\nhost replication all 127.0.0.1/32 trust\n");
  await start(primaryDir, primaryPort, "primary.log");
  let replicaRunning = false;
  const stop = async () => {
    if (replicaRunning) await stopServer(replicaDir).catch(() => undefined);
    await stopServer(primaryDir).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // -R writes standby.signal and primary_conninfo: the copy starts as a streaming replica.
    await asPostgres(PG_BASEBACKUP, [
      "-h",
      "127.0.0.1",
      "-p",
      String(primaryPort),
      "-U",
      "postgres",
      "-D",
      replicaDir,
      "-R",
      "-X",
      "stream",
      "-c",
      "fast",
      "--no-sync",
    ]);
    await start(replicaDir, replicaPort, "replica.log");
    replicaRunning = true;
  } catch (error) {
    await stop();
    throw error;
  }

  const onReplica = async <T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> => {
    const sql = postgres(url(replicaPort), { max: 1, onnotice: () => {} });
    try {
      return await fn(sql);
    } finally {
      await sql.end({ timeout: 1 });
    }
  };
  const waitFor = async (what: string, done: () => Promise<boolean>) => {
    for (let i = 0; i < 600; i++) {
      if (await done()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`replica: ${what} did not happen within 30 s`);
  };

  return {
    primaryUrl: (database) => url(primaryPort, database),
    replicaUrl: (database) => url(replicaPort, database),
    pauseReplay: () =>
      onReplica(async (sql) => {
        await sql`select pg_wal_replay_pause()`;
        await waitFor("replay pause", async () => {
          const [row] = await sql<{ state: string }[]>`select pg_get_wal_replay_pause_state() as state`;
          return row?.state === "paused";
        });
      }),
    resumeReplay: () =>
      onReplica(async (sql) => {
        await sql`select pg_wal_replay_resume()`;
      }),
    caughtUp: async () => {
      const primary = postgres(url(primaryPort), { max: 1, onnotice: () => {} });
      try {
        const [row] = await primary<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`;
        await onReplica((sql) =>
          waitFor("catching up", async () => {
            const [r] = await sql<{ behind: boolean }[]>`
              select pg_last_wal_replay_lsn() < ${row?.lsn ?? "0/0"}::pg_lsn as behind`;
            return r?.behind === false;
          }),
        );
      } finally {
        await primary.end({ timeout: 1 });
      }
    },
    stopReplica: async () => {
      await stopServer(replicaDir);
      replicaRunning = false;
    },
    startReplica: async () => {
      await start(replicaDir, replicaPort, "replica.log");
      replicaRunning = true;
    },
    stop,
  };
}
