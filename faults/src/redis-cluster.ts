import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "./servers.ts";

const run = promisify(execFile);

/**
 * A Redis Cluster of the suite's own: `masters` redis-servers with cluster mode on, in one temp
 * folder on free ports, joined by `redis-cli --cluster create` (no replicas), ready once every node
 * says `cluster_state:ok`. Never the machine's shared Redis.
 */
export class ScratchRedisCluster {
  private readonly children = new Map<number, ChildProcess>();

  private constructor(
    readonly dir: string,
    readonly ports: number[],
    private readonly appendOnly: boolean,
  ) {}

  static async create(opts: { masters?: number; appendOnly?: boolean } = {}): Promise<ScratchRedisCluster> {
    const dir = await mkdtemp(path.join(tmpdir(), "hitrail-redis-cluster-"));
    const ports: number[] = [];
    // Cluster nodes also listen on port + 10000 (the bus): both must be free.
    while (ports.length < (opts.masters ?? 3)) {
      const port = await freePort();
      if (port + 10_000 < 65_536 && !ports.includes(port)) ports.push(port);
    }
    const cluster = new ScratchRedisCluster(dir, ports, opts.appendOnly ?? false);
    try {
      await Promise.all(ports.map((port) => cluster.startNode(port)));
      await run(
        "redis-cli",
        ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-yes"],
        {
          timeout: 30_000,
        },
      );
      await cluster.waitUntilOk();
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  /** REDIS_URL in the form Hitrail reads a cluster from. */
  get url(): string {
    return `redis+cluster://${this.ports.map((p) => `127.0.0.1:${p}`).join(",")}`;
  }

  private async startNode(port: number): Promise<void> {
    const child = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        path.join(this.dir, `nodes-${port}.conf`),
        "--cluster-node-timeout",
        "5000",
        "--save",
        "",
        "--appendonly",
        this.appendOnly ? "yes" : "no",
        "--appendfilename",
        `appendonly-${port}.aof`,
        "--appenddirname",
        `aof-${port}`,
        "--dir",
        this.dir,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.children.set(port, child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis-server :${port} did not start within 10 s`)),
        10_000,
      );
      child.stdout?.on("data", (chunk: Buffer) => {
        if (String(chunk).includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server :${port} exited with ${code}`));
      });
    });
    child.stdout?.resume();
    child.stderr?.resume();
  }

  private async waitUntilOk(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(
        this.ports.map((port) =>
          run("redis-cli", ["-p", String(port), "cluster", "info"]).then(
            ({ stdout }) => /cluster_state:ok/.test(stdout),
            () => false,
          ),
        ),
      );
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error(`Redis Cluster not ok within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops every node (SIGTERM, then SIGKILL after 5 s) and removes the folder. */
  async destroy(): Promise<void> {
    await Promise.all(
      [...this.children.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const force = setTimeout(() => child.kill("SIGKILL"), 5_000);
            child.once("exit", () => {
              clearTimeout(force);
              resolve();
            });
            child.kill("SIGTERM");
          }),
      ),
    );
    this.children.clear();
    await rm(this.dir, { recursive: true, force: true });
  }
}
