import { type Env, requireEnv } from "@hitrail/config";
import { createDb, ping } from "@hitrail/db";
import { createLogger, Lifecycle, type Logger, runApp } from "@hitrail/observability";
import { createQueues, createRequestRedis, watchRedis } from "@hitrail/queue";
import type { FastifyInstance } from "fastify";
import { buildTracker } from "./app.ts";
import { DbBreaker, withDeadline } from "./db-breaker.ts";
import type { TrackerDeps } from "./deps.ts";
import { HitWriter } from "./hit-writer.ts";
import { RoutingSnapshot } from "./routing-snapshot.ts";
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
  const db = createDb(ready.DATABASE_URL, {
    max: 20,
    applicationName: "hitrail-tracker",
    connectTimeoutSeconds: 2,
  });
  // Redis holds the spools and the routing snapshot: without it there is nothing safe to serve.
  const redis = createRequestRedis(ready.REDIS_URL);
  watchRedis(redis, logger, "tracker");
  await redis.ping();
  const breaker = new DbBreaker(() => ping(db.sql), logger);
  await startWithoutDatabaseIfNeeded(db, breaker, logger);
  const queues = createQueues(redis, env.REDIS_PREFIX);
  const hits = new HitWriter(
    db.db,
    redis,
    env.REDIS_PREFIX,
    logger,
    { maxBatch: env.HIT_BATCH_MAX, waitMs: env.HIT_BATCH_WAIT_MS },
    breaker,
  );
  hits.startReplayer();
  const snapshot = new RoutingSnapshot(redis, env.REDIS_PREFIX, logger);
  const deps: TrackerDeps = {
    env,
    db,
    redis,
    prefix: env.REDIS_PREFIX,
    queues,
    logger,
    workspaces: new WorkspaceResolver(db.db, {}, breaker, snapshot),
    breaker,
    snapshot,
    sessions: new SessionStore(redis, env.REDIS_PREFIX, logger),
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
  lifecycle.onShutdown("breaker", () => breaker.stop());
  lifecycle.onShutdown("queues", () => queues.close());
  lifecycle.onShutdown("redis", async () => void (await redis.quit()));
  lifecycle.onShutdown("postgres", () => db.close());
  return { app, deps, url, close: () => lifecycle.shutdown("close") };
}

/**
 * A tracker must start while PostgreSQL is down (a crash, a restart or a new replica during an
 * outage): it then serves known hosts from the routing snapshot and spools. Credentials or a missing
 * database are configuration errors, not outages, and still stop the start.
 */
async function startWithoutDatabaseIfNeeded(
  db: { sql: Parameters<typeof ping>[0] },
  breaker: DbBreaker,
  logger: Logger,
): Promise<void> {
  try {
    await withDeadline(ping(db.sql), 3_000);
  } catch (error) {
    const code = String((error as { code?: unknown }).code ?? "");
    if (code.startsWith("28") || code === "3D000") throw error;
    breaker.failed(error);
    logger.warn(
      { err: (error as Error).message },
      "starting without PostgreSQL: known tracking domains are served from the routing snapshot",
    );
  }
}

/** `tsx apps/tracker/src/main.ts`: one process serving the tracker. */
function main(): Promise<void> {
  return runApp(
    "tracker",
    (env, deps) => startTracker(env, deps),
    (started) => ({
      fields: { url: started.url },
      message: "tracker listening",
    }),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
