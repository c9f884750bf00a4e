import { Redis, type RedisOptions } from "ioredis";

/**
 * BullMQ needs `maxRetriesPerRequest: null` on connections that block; the same settings are safe
 * for our own commands, so every Redis connection is made here.
 */
export function createRedis(url: string, opts: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...opts });
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
    ...opts,
  });
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

export type { Redis } from "ioredis";
