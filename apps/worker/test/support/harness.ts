import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { loadEnv } from "@hitrail/config";
import type { Database } from "@hitrail/db";
import { type TestDatabase, testRedisPrefix, testRedisUrl } from "@hitrail/db/testing";
import { createLogger } from "@hitrail/observability";
import { createRedis } from "@hitrail/queue";
import { type RunningWorker, startWorker, type WorkerOptions } from "../../src/index.ts";

export interface ReceivedRequest {
  url: string;
  at: number;
  headers: IncomingMessage["headers"];
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Answer after this long (a slow or hanging receiver). */
  delayMs?: number;
}

export interface Receiver {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  requests: ReceivedRequest[];
  /** How to answer the n-th request (0-based) to a path; default 200. */
  reply: (req: IncomingMessage, n: number) => Reply;
  close: () => Promise<void>;
}

/** A local HTTP receiver on 127.0.0.1 and a free port, standing in for a traffic source. */
export async function startReceiver(reply?: Receiver["reply"]): Promise<Receiver> {
  const counts = new Map<string, number>();
  const receiver: Receiver = {
    url: "",
    requests: [],
    reply: reply ?? (() => ({ status: 200, body: "OK" })),
    close: async () => {},
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const n = counts.get(path) ?? 0;
    counts.set(path, n + 1);
    receiver.requests.push({ url: req.url ?? "/", at: Date.now(), headers: req.headers });
    const r = receiver.reply(req, n);
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(r.status, { "content-type": "text/plain", ...r.headers });
      res.end(r.body ?? "");
    };
    if (r.delayMs) setTimeout(send, r.delayMs);
    else send();
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  receiver.url = `http://127.0.0.1:${port}`;
  receiver.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? "condition"}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retry delays for tests: milliseconds instead of minutes, no jitter. */
export const FAST_SCHEDULE = { delaysMs: [20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20], jitter: 0 };

export interface TestWorker extends RunningWorker {
  prefix: string;
  db: Database;
}

/**
 * A real worker on the file's database and its own Redis prefix, with a fast retry schedule, no
 * admin server, no repeating jobs and no visit sweep loop unless asked (tests drive
 * `worker.sweeper.sweepHitsOnce()`). `allowCidrs` is OUTBOUND_ALLOW_CIDRS.
 */
export async function startTestWorker(
  t: TestDatabase,
  opts: WorkerOptions & { allowCidrs?: string; prefix?: string; env?: Record<string, string> } = {},
): Promise<TestWorker> {
  const prefix = opts.prefix ?? testRedisPrefix("worker");
  const env = loadEnv({
    DATABASE_URL: t.appUrl,
    MAINTENANCE_DATABASE_URL: t.maintenanceUrl,
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: prefix,
    OUTBOUND_ALLOW_CIDRS: opts.allowCidrs ?? "127.0.0.0/8",
    LOG_LEVEL: "silent",
    ...opts.env,
  });
  const logger = createLogger({ name: "worker-test", level: env.LOG_LEVEL });
  const { allowCidrs: _a, prefix: _p, env: _e, ...rest } = opts;
  const worker = await startWorker(env, {
    logger,
    port: false,
    schedules: false,
    sweep: false,
    relay: { idleMs: 20 },
    ...rest,
    postbacks: { schedule: FAST_SCHEDULE, busyDelayMs: [20, 60], ...rest.postbacks },
  });
  return { ...worker, prefix, db: t.db };
}

/** Deletes every Redis key under a test prefix. */
export async function clearRedisPrefix(prefix: string): Promise<void> {
  const redis = createRedis(testRedisUrl());
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    await redis.quit();
  }
}
