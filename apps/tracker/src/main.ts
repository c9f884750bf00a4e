import { type Env, loadEnv, requireEnv } from "@hitrail/config";
import { createDb, ping } from "@hitrail/db";
import {
  createLogger,
  exitOnStartupError,
  guardProcess,
  initSentry,
  Lifecycle,
  type Logger,
} from "@hitrail/observability";
import { createQueues, createRedis } from "@hitrail/queue";
import type { FastifyInstance } from "fastify";
import { buildTracker } from "./app.ts";
import type { TrackerDeps } from "./deps.ts";
import { HitWriter } from "./hit-writer.ts";
import { SessionStore } from "./sessions.ts";
import { WorkspaceResolver } from "./workspace-resolver.ts";

export interface RunningTracker {
  app: FastifyInstance;
  deps: TrackerDeps;
  url: string;
  close: () => Promise<void>;
}

/** Connects everything the tracker needs and listens; throws on any start-up failure. */
export async function startTracker(
  env: Env,
  opts: { logger?: Logger; port?: number; lifecycle?: Lifecycle; overrides?: Partial<TrackerDeps> } = {},
): Promise<RunningTracker> {
  const ready = requireEnv(env, ["DATABASE_URL", "REDIS_URL"]);
  const logger = opts.logger ?? createLogger({ name: "tracker", level: env.LOG_LEVEL });
  const lifecycle = opts.lifecycle ?? new Lifecycle(logger);
  const db = createDb(ready.DATABASE_URL, { max: 20, applicationName: "hitrail-tracker" });
  await ping(db.sql);
  const redis = createRedis(ready.REDIS_URL);
  await redis.ping();
  const queues = createQueues(redis, env.REDIS_PREFIX);
  const hits = new HitWriter(db.db, redis, env.REDIS_PREFIX, logger, {
    maxBatch: env.HIT_BATCH_MAX,
    waitMs: env.HIT_BATCH_WAIT_MS,
  });
  hits.startReplayer();
  const deps: TrackerDeps = {
    env,
    db,
    redis,
    prefix: env.REDIS_PREFIX,
    queues,
    logger,
    workspaces: new WorkspaceResolver(db.db),
    sessions: new SessionStore(redis, env.REDIS_PREFIX),
    hits,
    now: Date.now,
    rng: Math.random,
    ...opts.overrides,
  };
  const app = await buildTracker(deps);
  const url = await app.listen({ host: env.HOST, port: opts.port ?? env.TRACKER_PORT });
  lifecycle.onShutdown("tracker http", () => app.close());
  lifecycle.onShutdown("hit writer", async () => {
    await hits.drain();
    hits.stop();
  });
  lifecycle.onShutdown("queues", () => queues.close());
  lifecycle.onShutdown("redis", async () => void (await redis.quit()));
  lifecycle.onShutdown("postgres", () => db.close());
  return { app, deps, url, close: () => lifecycle.shutdown("close") };
}

/** `tsx apps/tracker/src/main.ts`: one process serving the tracker. */
async function main(): Promise<void> {
  let env: Env;
  try {
    env = loadEnv();
  } catch (error) {
    exitOnStartupError("tracker", "configuration", error);
  }
  initSentry({ dsn: env.SENTRY_DSN, app: "tracker", environment: env.NODE_ENV });
  const logger = createLogger({ name: "tracker", level: env.LOG_LEVEL });
  const lifecycle = new Lifecycle(logger);
  guardProcess(logger, { app: "tracker", onFatal: () => lifecycle.shutdown("uncaught exception") });
  try {
    const tracker = await startTracker(env, { logger, lifecycle });
    logger.info({ url: tracker.url }, "tracker listening");
  } catch (error) {
    exitOnStartupError("tracker", "cannot start", error);
  }
  lifecycle.handleSignals();
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
