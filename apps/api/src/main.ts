import { type Env, requireEnv } from "@hitrail/config";
import { createDb, ping } from "@hitrail/db";
import { createLogger, Lifecycle, type Logger, runApp } from "@hitrail/observability";
import { createRedis } from "@hitrail/queue";
import type { FastifyInstance } from "fastify";
import { buildApi } from "./app.ts";
import { createDomainChecks, settingsFromEnv } from "./settings.ts";

export async function startApi(
  env: Env,
  opts: { logger?: Logger; lifecycle?: Lifecycle; port?: number } = {},
): Promise<{ app: FastifyInstance; url: string; close: () => Promise<void> }> {
  // Redis holds the attempt limits every api process shares; emails need a dashboard URL for links.
  const ready = requireEnv(
    env,
    env.SMTP_URL ? ["DATABASE_URL", "REDIS_URL", "DASHBOARD_URL"] : ["DATABASE_URL", "REDIS_URL"],
  );
  const logger = opts.logger ?? createLogger({ name: "api", level: env.LOG_LEVEL });
  const lifecycle = opts.lifecycle ?? new Lifecycle(logger);
  const db = createDb(ready.DATABASE_URL, { max: 10, applicationName: "hitrail-api" });
  await ping(db.sql);
  // Not pinged: a replica that is down sends reads to the primary, it does not stop the api.
  const readDb = env.DATABASE_READ_URL
    ? createDb(env.DATABASE_READ_URL, {
        max: 10,
        applicationName: "hitrail-api-read",
        connectTimeoutSeconds: 3,
      })
    : null;
  const redis = createRedis(ready.REDIS_URL);
  const app = await buildApi({
    db,
    readDb,
    maxReplicaLagSeconds: env.DATABASE_READ_MAX_LAG_SECONDS,
    logger,
    redis,
    redisPrefix: env.REDIS_PREFIX,
    settings: settingsFromEnv(env),
    domainChecks: createDomainChecks({ allowCidrs: env.OUTBOUND_ALLOW_CIDRS }),
  });
  const url = await app.listen({ host: env.HOST, port: opts.port ?? env.API_PORT });
  lifecycle.onShutdown("api http", () => app.close());
  lifecycle.onShutdown("postgres", () => db.close());
  if (readDb) lifecycle.onShutdown("postgres replica", () => readDb.close());
  lifecycle.onShutdown("redis", async () => {
    await redis.quit();
  });
  return { app, url, close: () => lifecycle.shutdown("close") };
}

function main(): Promise<void> {
  return runApp(
    "api",
    (env, deps) => startApi(env, deps),
    (started) => ({
      fields: { url: started.url },
      message: "api listening",
    }),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
