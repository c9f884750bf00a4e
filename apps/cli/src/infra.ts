import { spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { createRedis } from "@hitrail/queue";

export class MissingRedis extends Error {
  constructor() {
    super(
      "Redis is needed: set REDIS_URL, run one on 127.0.0.1:6379, or install redis-server (apt-get install redis-server, brew install redis) so `pnpm start` can run it",
    );
  }
}

async function pings(url: string): Promise<boolean> {
  const redis = createRedis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    connectTimeout: 1_500,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    await redis.ping();
    return true;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/**
 * REDIS_URL when set; else a Redis already on 127.0.0.1:6379; else a redis-server from PATH that
 * we start ourselves, with append-only persistence (BullMQ and the hit spool need it).
 */
export async function ensureRedis(opts: { configured?: string; dataDir: string; port: number }): Promise<{
  url: string;
  origin: "configured" | "local" | "started";
  stop: () => Promise<void>;
}> {
  if (opts.configured) return { url: opts.configured, origin: "configured", stop: async () => {} };
  const local = "redis://127.0.0.1:6379";
  if (await pings(local)) return { url: local, origin: "local", stop: async () => {} };
  const which = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" });
  const bin = which.stdout.trim();
  if (which.status !== 0 || !bin) throw new MissingRedis();
  const dir = path.resolve(opts.dataDir, "redis");
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    bin,
    [
      "--port",
      String(opts.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--save",
      "",
      "--maxmemory-policy",
      "noeviction",
    ],
    // A session of its own: the terminal's Ctrl-C must not stop Redis before the apps using it.
    { stdio: "ignore", detached: true },
  );
  const url = `redis://127.0.0.1:${opts.port}`;
  for (let i = 0; i < 50; i++) {
    if (await pings(url)) break;
    if (child.exitCode !== null)
      throw new Error(`redis-server exited with code ${child.exitCode} (is port ${opts.port} free?)`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!(await pings(url))) throw new Error(`redis-server did not answer on port ${opts.port}`);
  return {
    url,
    origin: "started",
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
