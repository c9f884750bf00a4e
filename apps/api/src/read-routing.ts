import { currentWalLsn, type DbClient, isReplicaFailure, ReadRouter, type ReplicaState } from "@hitrail/db";
import type { Logger } from "@hitrail/observability";
import type { Redis } from "@hitrail/queue";
import type { Principal } from "./auth/principal.ts";
import type { ApiMetrics } from "./metrics.ts";

/**
 * Which database a procedure reads from (docs/operations.md, "Read replica"). Queries may go to the
 * replica; mutations, and the checks of who is calling, always use the primary.
 *
 * Read-your-writes: after a caller's mutation, the primary's WAL position is kept in Redis under the
 * caller (the user across all their sessions, or the API key), and that caller's reads go to the
 * primary until the replica has replayed past it. Redis rather than a cookie because API keys carry
 * no cookies, every api process must see it, and the client cannot tamper with it; it costs one GET
 * per read and one script call per mutation, only when a replica is configured. A caller whose
 * position cannot be read (Redis down) reads from the primary.
 */
export interface ReadRouting {
  /** The database of one read by this caller. */
  forRead(principal: Principal | null): Promise<{ db: DbClient; target: "replica" | "primary" }>;
  /** After a mutation by this caller (committed or not): their reads wait for the replica to pass it. */
  wrote(principal: Principal | null): Promise<void>;
  /** A read failed on the replica: true when it is the replica's fault and the read may run on the primary. */
  failedOnReplica(error: unknown): boolean;
  /** The replica's last measured state (null: no replica configured). */
  replicaState(): Promise<ReplicaState | null>;
}

export function primaryOnly(primary: DbClient, metrics?: ApiMetrics): ReadRouting {
  return {
    forRead: async () => {
      metrics?.reads.inc({ target: "primary", reason: "replica_off" });
      return { db: primary, target: "primary" };
    },
    wrote: async () => {},
    failedOnReplica: () => false,
    replicaState: async () => null,
  };
}

// Keeps the larger of the stored and the new position (16 hex digits compare as text), so two
// concurrent mutations of one caller cannot leave the older position behind.
const RECORD_LSN = `local c = redis.call('GET', KEYS[1])
if (not c) or c < ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1`;

function callerKey(principal: Principal): string {
  return principal.kind === "user" ? `u:${principal.userId}` : `k:${principal.apiKeyId}`;
}

export function replicaRouting(deps: {
  primary: DbClient;
  replica: DbClient;
  maxLagSeconds: number;
  redis: Redis;
  redisPrefix: string;
  logger: Logger;
  metrics: ApiMetrics;
  /** How long one measurement of the replica stands (ms). */
  stateTtlMs?: number;
}): ReadRouting {
  const { primary, redis, logger, metrics } = deps;
  const router = new ReadRouter({
    primary,
    replica: deps.replica,
    maxLagSeconds: deps.maxLagSeconds,
    stateTtlMs: deps.stateTtlMs,
    onStateChange: (state, previous) => {
      if (state.kind === "ok") {
        if (previous)
          logger.info({ lagSeconds: state.lagSeconds }, "read replica usable again: reads go to it");
      } else if (state.kind === "lagging") {
        logger.warn(
          {
            lagSeconds: state.lagSeconds,
            lagBytes: Number(state.lagBytes),
            maxLagSeconds: deps.maxLagSeconds,
          },
          "read replica lagging past the bound: reads go to the primary",
        );
      } else {
        logger.warn(
          { state: state.kind, error: state.error },
          "read replica unusable: reads go to the primary",
        );
      }
    },
  });
  metrics.watchReplica(async () => {
    const state = await router.currentState();
    return state.kind === "ok" || state.kind === "lagging"
      ? { lagSeconds: state.lagSeconds, lagBytes: Number(state.lagBytes) }
      : null;
  });
  // Past this the replica is either beyond the write or past the lag bound (then the primary anyway).
  const ttlSeconds = Math.max(60, Math.ceil(deps.maxLagSeconds * 2));
  const keyOf = (principal: Principal) => `${deps.redisPrefix}:read-after:${callerKey(principal)}`;

  return {
    async forRead(principal) {
      let afterLsn: bigint | null = null;
      if (principal) {
        try {
          // A Redis that is down would hold the command until it is back; the primary answers now.
          if (redis.status !== "ready") throw new Error(`redis ${redis.status}`);
          const stored = await redis.get(keyOf(principal));
          afterLsn = stored ? BigInt(`0x${stored}`) : null;
        } catch {
          metrics.reads.inc({ target: "primary", reason: "session_unknown" });
          return { db: primary, target: "primary" };
        }
      }
      const route = await router.route(afterLsn);
      if (route.target === "replica") {
        metrics.reads.inc({ target: "replica", reason: "replica" });
        return { db: route.client, target: "replica" };
      }
      metrics.reads.inc({ target: "primary", reason: route.reason });
      if (route.reason !== "read_your_writes") metrics.replicaFallbacks.inc({ reason: route.reason });
      return { db: primary, target: "primary" };
    },

    async wrote(principal) {
      if (!principal) return;
      try {
        const lsn = await currentWalLsn(primary.sql);
        await redis.eval(RECORD_LSN, 1, keyOf(principal), lsn.toString(16).padStart(16, "0"), ttlSeconds);
      } catch (error) {
        // The write itself stands; only this caller's next reads may briefly not show it.
        logger.warn(
          { err: error, caller: callerKey(principal) },
          "could not record a write position for read-your-writes",
        );
      }
    },

    failedOnReplica(error) {
      if (!isReplicaFailure(error)) return false;
      router.markUnreachable(error);
      metrics.reads.inc({ target: "primary", reason: "failed" });
      metrics.replicaFallbacks.inc({ reason: "failed" });
      return true;
    },

    replicaState: () => router.currentState(),
  };
}
