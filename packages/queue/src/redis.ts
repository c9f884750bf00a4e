import { parseRedisUrl } from "@hitrail/config";
import { Cluster, type ClusterOptions, type RedisOptions, Redis as SingleRedis } from "ioredis";

/**
 * A connection to Redis: one server, or a Redis Cluster (REDIS_URL `redis+cluster://…`). Both speak
 * the same commands; what differs is which keys may meet in one command (see keyspace.ts).
 */
export type Redis = SingleRedis | Cluster;

// Settings that belong to the cluster client itself rather than to each node's connection.
const CLUSTER_LEVEL = [
  "lazyConnect",
  "enableReadyCheck",
  "enableAutoPipelining",
  "enableOfflineQueue",
] as const;

/**
 * BullMQ needs `maxRetriesPerRequest: null` on connections that block; the same settings are safe
 * for our own commands, so every Redis connection is made here, for one server or a cluster alike.
 */
export function createRedis(url: string, opts: RedisOptions = {}): Redis {
  const options: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: false,
    ...opts,
  };
  const target = parseRedisUrl(url);
  if (target.kind === "single") return new SingleRedis(target.url, options);
  const {
    retryStrategy,
    enableOfflineQueue: _q,
    lazyConnect: _l,
    enableAutoPipelining: _a,
    ...nodeOptions
  } = options;
  const clusterOptions: ClusterOptions = {
    // Each node gets the same timeouts and credentials; a failing node is retried by the cluster.
    redisOptions: {
      ...nodeOptions,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
    },
    ...(retryStrategy ? { clusterRetryStrategy: retryStrategy } : {}),
    // Moves and fail-overs are answered by refreshing the slot map and retrying, not by failing.
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 200,
    slotsRefreshTimeout: 2_000,
  };
  for (const key of CLUSTER_LEVEL) {
    if (options[key] !== undefined) Object.assign(clusterOptions, { [key]: options[key] });
  }
  return new Cluster(target.nodes, clusterOptions);
}

/**
 * A connection for request paths (a click, a postback): a command fails within `commandTimeoutMs`
 * instead of waiting for Redis to come back, so a Redis outage costs a request a short deadline,
 * never a hang. Reconnects are tried at most a second apart, so recovery is seen within a second.
 */
export function createRequestRedis(url: string, commandTimeoutMs = 500, opts: RedisOptions = {}): Redis {
  return createRedis(url, {
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1_000),
    // On a cluster, commands of one turn are sent per node in one write (what our own batching
    // does for one server: a click's session write and hit spool must not cost a round trip each).
    ...(parseRedisUrl(url).kind === "cluster" ? { enableAutoPipelining: true } : {}),
    ...opts,
  });
}

/** The masters of a cluster, or the one server: what `doctor` and a restart check look at. */
export function redisServers(redis: Redis): SingleRedis[] {
  return redis instanceof Cluster ? redis.nodes("master") : [redis];
}

interface WatchLogger {
  warn: (obj: object, msg: string) => void;
  info: (obj: object, msg: string) => void;
}

export interface RedisHealth {
  readonly isUp: boolean;
  readonly reason: string | null;
}

/**
 * One structured line when a connection loses Redis and one when it is back, instead of ioredis's
 * "Unhandled error event" on every retry (an 'error' listener is what silences those).
 */
export function watchRedis(redis: Redis, logger: WatchLogger, name: string): RedisHealth {
  let downSince: number | null = null;
  let reason: string | null = null;
  redis.on("error", (error: Error & { code?: string }) => {
    reason = error.code ? `${error.code}: ${error.message}` : error.message;
    if (downSince !== null) return;
    downSince = Date.now();
    logger.warn({ connection: name, reason }, "Redis unreachable");
  });
  redis.on("ready", () => {
    if (downSince === null) return;
    logger.info({ connection: name, downForMs: Date.now() - downSince }, "Redis is back");
    downSince = null;
    reason = null;
  });
  return {
    get isUp() {
      return downSince === null && redis.status === "ready";
    },
    get reason() {
      return downSince === null && redis.status !== "ready" ? `connection ${redis.status}` : reason;
    },
  };
}
