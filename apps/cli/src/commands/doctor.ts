import { type Env, loadEnv } from "@hitrail/config";
import {
  createDb,
  currentRoleSafety,
  type DbClient,
  formatLsn,
  hitPartitionsAhead,
  measureReplicaLag,
  migrationStatus,
  NotAReplicaError,
  type OutboxBacklog,
  outboxBacklog,
  serverVersion,
} from "@hitrail/db";
import { describeStartupError } from "@hitrail/observability";
import { createRedis, isCluster, redisServers } from "@hitrail/queue";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** A problem worth fixing that does not stop Hitrail from running. */
  warning?: boolean;
}

/** One line of `hitrail doctor`'s output. */
export function formatCheck(c: Check): string {
  const mark = c.ok ? "ok  " : c.warning ? "warn" : "FAIL";
  return `${mark}  ${c.name.padEnd(18)} ${c.detail}`;
}

/** Jobs waiting in the outbox longer than this mean the worker's relay is not keeping up (or not running). */
export const OUTBOX_STALE_SECONDS = 5 * 60;

function duration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)} minutes`;
  return `${Math.round(seconds / 3_600)} hours`;
}

/** The outbox: rows the worker's relay has not handed to the queue yet. */
export function outboxCheck(backlog: OutboxBacklog): Check {
  const { pending, oldestSeconds } = backlog;
  const stale = pending > 0 && oldestSeconds > OUTBOX_STALE_SECONDS;
  return {
    name: "outbox",
    ok: !stale,
    warning: true,
    detail:
      pending === 0
        ? "empty: the worker has relayed every job"
        : stale
          ? `${pending} job(s) waiting, the oldest for ${duration(oldestSeconds)}: is a worker running with its relay on (WORKER_RELAY)? Postbacks and rollups wait until one is`
          : `${pending} job(s) waiting, the oldest for ${duration(oldestSeconds)}`,
  };
}

/**
 * The read replica (DATABASE_READ_URL): reachable, a standby, and its lag against the bound past
 * which the api stops reading from it. Never throws: a replica problem is a warning, since the api
 * then reads from the primary.
 */
export async function replicaCheck(
  primary: DbClient,
  readUrl: string,
  maxLagSeconds: number,
): Promise<Check> {
  const replica = createDb(readUrl, { max: 1, connectTimeoutSeconds: 5, applicationName: "hitrail-doctor" });
  try {
    const lag = await measureReplicaLag(primary.sql, replica.sql);
    const within = lag.lagSeconds <= maxLagSeconds;
    const behind =
      lag.lagBytes === 0n
        ? "caught up (lag 0 s)"
        : `lag ${lag.lagSeconds.toFixed(1)} s, ${lag.lagBytes.toLocaleString("en-US")} bytes of WAL behind`;
    return {
      name: "read replica",
      ok: within,
      warning: true,
      detail: within
        ? `${behind}, replayed to ${formatLsn(lag.replayLsn)}; the api reads reports and lists from it`
        : `${behind}: past DATABASE_READ_MAX_LAG_SECONDS (${maxLagSeconds} s), so the api reads from the primary until it catches up`,
    };
  } catch (error) {
    return {
      name: "read replica",
      ok: false,
      warning: true,
      detail:
        error instanceof NotAReplicaError
          ? `DATABASE_READ_URL ${error.message}: the api reads from the primary`
          : `cannot use DATABASE_READ_URL (${describeStartupError(error)}): the api reads from the primary`,
    };
  } finally {
    await replica.close(1);
  }
}

/** Checks what a running Hitrail needs and says what is wrong in plain words. */
export async function doctor(raw: Record<string, string | undefined>): Promise<Check[]> {
  const checks: Check[] = [];
  let env: Env;
  try {
    env = loadEnv(raw);
    checks.push({ name: "configuration", ok: true, detail: "environment is valid" });
  } catch (error) {
    checks.push({ name: "configuration", ok: false, detail: describeStartupError(error) });
    return checks;
  }

  if (!env.DATABASE_URL) {
    checks.push({
      name: "postgres",
      ok: false,
      detail: "DATABASE_URL is not set (pnpm start runs an embedded PostgreSQL; other commands need the URL)",
    });
  } else {
    const db = createDb(env.DATABASE_URL, {
      max: 1,
      connectTimeoutSeconds: 5,
      applicationName: "hitrail-doctor",
    });
    try {
      const version = await serverVersion(db.db);
      checks.push({
        name: "postgres",
        ok: true,
        detail: `reachable, PostgreSQL ${version ?? "?"}`,
      });
      // Row-level security holds only a role that neither owns the tables nor bypasses it.
      const role = await currentRoleSafety(db.db);
      const wall = role !== null && !role.privileged && !role.owner;
      checks.push({
        name: "app role",
        ok: wall,
        warning: true,
        detail: wall
          ? `${role?.name}: row-level security applies`
          : `${role?.name ?? "?"} owns the tables or bypasses row-level security: give the apps their own role (docs/security-tenancy.md)`,
      });
      const m = await migrationStatus(db.db);
      checks.push({
        name: "migrations",
        ok: m.pending === 0,
        detail:
          m.pending === 0
            ? `all ${m.known} migrations applied`
            : `${m.pending} of ${m.known} migrations not applied: run \`pnpm hitrail migrate\``,
      });
      if (m.applied > 0) {
        const ahead = await hitPartitionsAhead(db.db);
        checks.push({
          name: "hit partitions",
          ok: ahead >= 2,
          warning: true,
          detail:
            ahead >= 2
              ? `${ahead} monthly partitions from this month on`
              : "fewer than 2 monthly hit partitions ahead: is the worker's maintenance job running? (`pnpm hitrail migrate` creates them too)",
        });
        checks.push(outboxCheck(await outboxBacklog(db.db)));
      }
      if (env.DATABASE_READ_URL) {
        checks.push(await replicaCheck(db, env.DATABASE_READ_URL, env.DATABASE_READ_MAX_LAG_SECONDS));
      }
    } catch (error) {
      checks.push({
        name: "postgres",
        ok: false,
        detail: `cannot use DATABASE_URL: ${describeStartupError(error)}`,
      });
    } finally {
      await db.close(1);
    }
  }

  if (!env.REDIS_URL) {
    checks.push({ name: "redis", ok: false, detail: "REDIS_URL is not set" });
  } else {
    const redis = createRedis(env.REDIS_URL, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    try {
      await redis.connect();
      const servers = redisServers(redis);
      if (isCluster(redis)) {
        const state = /cluster_state:(\w+)/.exec(String(await redis.cluster("INFO")))?.[1] ?? "unknown";
        checks.push({
          name: "redis",
          ok: state === "ok" && servers.length > 0,
          detail: `Redis Cluster, ${servers.length} master${servers.length === 1 ? "" : "s"}, cluster_state ${state}`,
        });
      } else {
        checks.push({ name: "redis", ok: true, detail: "reachable" });
      }
      // Every master holds part of the queues, sessions and spools: each needs persistence.
      for (const server of servers) {
        const info = await server.info("persistence");
        const aof = /aof_enabled:1/.test(info);
        const policy = ((await server.config("GET", "maxmemory-policy")) as string[])[1];
        const where = isCluster(redis) ? `master ${server.options.host}:${server.options.port}: ` : "";
        checks.push({
          name: "redis persistence",
          ok: aof && policy === "noeviction",
          warning: true,
          detail:
            aof && policy === "noeviction"
              ? `${where}appendonly on, maxmemory-policy noeviction`
              : `${where}queued work and spooled hits need appendonly yes and maxmemory-policy noeviction (now: appendonly ${aof ? "yes" : "no"}, policy ${policy})`,
        });
      }
      const spooled = await redis.xlen(`${env.REDIS_PREFIX}:spool:hits`);
      checks.push({
        name: "hit spool",
        ok: spooled === 0,
        warning: true,
        detail: spooled === 0 ? "empty" : `${spooled} hits waiting for Postgres (the tracker replays them)`,
      });
    } catch (error) {
      checks.push({
        name: "redis",
        ok: false,
        detail: `cannot reach REDIS_URL: ${describeStartupError(error)}`,
      });
    } finally {
      redis.disconnect();
    }
  }
  return checks;
}
