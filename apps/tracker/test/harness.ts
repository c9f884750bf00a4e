import { Writable } from "node:stream";
import { loadEnv } from "@hitrail/config";
import { type CampaignKit, createDb, type DbClient } from "@hitrail/db";
import {
  createTestDatabase,
  factories,
  type TestDatabase,
  testRedisPrefix,
  testRedisUrl,
} from "@hitrail/db/testing";
import { createLogger } from "@hitrail/observability";
import { createQueues, createRedis, type Redis } from "@hitrail/queue";
import type { FastifyInstance } from "fastify";
import { buildTracker } from "../src/app.ts";
import { DbBreaker } from "../src/db-breaker.ts";
import type { TrackerDeps } from "../src/deps.ts";
import { HitWriter, type HitWriterOptions } from "../src/hit-writer.ts";
import { RoutingSnapshot } from "../src/routing-snapshot.ts";
import { SessionStore } from "../src/sessions.ts";
import { WorkspaceResolver } from "../src/workspace-resolver.ts";

export interface TrackerHarness {
  app: FastifyInstance;
  deps: TrackerDeps;
  t: TestDatabase;
  redis: Redis;
  clock: { now: number; advance: (ms: number) => void };
  /** Log lines as JSON objects, when the harness was made with `captureLogs`. */
  logs: Array<Record<string, unknown>>;
  /** A workspace with the standard campaign kit, routed at `host`. */
  tenant: (opts?: {
    postbackUrl?: string;
  }) => Promise<{ workspaceId: string; host: string; kit: CampaignKit }>;
  close: () => Promise<void>;
}

/**
 * A tracker on its own database (cloned from the migrated template) and its own Redis prefix.
 * `dbUrl` lets a test put a proxy it controls between the tracker and Postgres.
 */
export async function createTrackerHarness(
  opts: {
    dbUrl?: (url: string) => string;
    rng?: () => number;
    writer?: Partial<HitWriterOptions>;
    /** Host → workspace cache lifetime; 0 (the default) reads the database on every request. */
    workspaceCacheMs?: number;
    /** Keep info-level log lines in `logs` so a test can assert what was logged. */
    captureLogs?: boolean;
    /** More environment, e.g. PUBLIC_SCHEME=https for a tracker behind TLS. */
    env?: Record<string, string>;
  } = {},
): Promise<TrackerHarness> {
  const t = await createTestDatabase();
  const prefix = testRedisPrefix("tracker");
  const redis = createRedis(testRedisUrl());
  const env = loadEnv({
    DATABASE_URL: t.appUrl,
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: prefix,
    LOG_LEVEL: "silent",
    BASE_DOMAIN: "test.localhost",
    NODE_ENV: "test",
    ...opts.env,
  });
  const logs: Array<Record<string, unknown>> = [];
  const logger = opts.captureLogs
    ? createLogger({
        name: "tracker-test",
        level: "info",
        destination: new Writable({
          write: (chunk, _e, cb) => {
            for (const line of String(chunk).split("\n")) if (line.trim()) logs.push(JSON.parse(line));
            cb();
          },
        }),
      })
    : createLogger({
        name: "tracker-test",
        level: process.env.TEST_LOG_LEVEL ?? "silent",
        destination: process.env.TEST_LOG_LEVEL ? undefined : new Writable({ write: (_c, _e, cb) => cb() }),
      });
  const trackerDb: DbClient = opts.dbUrl
    ? createDb(opts.dbUrl(t.appUrl), { max: 5, connectTimeoutSeconds: 2 })
    : t.app;
  const clock = {
    now: Date.now(),
    advance(ms: number) {
      clock.now += ms;
    },
  };
  const queues = createQueues(redis, prefix);
  const breaker = new DbBreaker(() => trackerDb.sql`select 1`, logger, { probeIntervalMs: 100 });
  const snapshot = new RoutingSnapshot(redis, prefix, logger);
  const hits = new HitWriter(
    trackerDb.db,
    redis,
    prefix,
    logger,
    { replayIntervalMs: 100, ...opts.writer },
    breaker,
  );
  const deps: TrackerDeps = {
    env,
    db: trackerDb,
    redis,
    prefix,
    queues,
    logger,
    workspaces: new WorkspaceResolver(trackerDb.db, { ttlMs: opts.workspaceCacheMs ?? 0 }, breaker, snapshot),
    breaker,
    snapshot,
    sessions: new SessionStore(redis, prefix, logger),
    hits,
    now: () => clock.now,
    rng: opts.rng ?? Math.random,
  };
  const app = await buildTracker(deps);
  await app.ready();
  return {
    app,
    deps,
    t,
    redis,
    clock,
    logs,
    async tenant(o = {}) {
      const { workspace, host } = await factories.workspace(t.db);
      const kit = await factories.campaign(
        t.db,
        workspace.id,
        o.postbackUrl ? { postbackUrl: o.postbackUrl } : {},
      );
      return { workspaceId: workspace.id, host, kit };
    },
    async close() {
      await app.close();
      await hits.drain();
      hits.stop();
      breaker.stop();
      await queues.close();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      if (trackerDb !== t.app) await trackerDb.close(1);
      await t.drop();
    },
  };
}
