import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { startApi } from "@hitrail/api";
import { type Env, loadEnv } from "@hitrail/config";
import { createDb, runMigrations, startEmbeddedPostgres } from "@hitrail/db";
import { createLogger, exitOnStartupError, initSentry, Lifecycle } from "@hitrail/observability";
import { startTracker } from "@hitrail/tracker";
import { seedDemo } from "./commands/seed-demo.ts";
import { startDemoPages } from "./demo-pages.ts";
import { ensureRedis } from "./infra.ts";

/**
 * `pnpm start`: the whole stack in one process for evaluation and development. Production runs
 * each app as its own process (see infra/).
 */
async function main(): Promise<void> {
  let env: Env;
  try {
    env = loadEnv();
  } catch (error) {
    exitOnStartupError("start", "configuration", error);
  }
  initSentry({ dsn: env.SENTRY_DSN, app: "start", environment: env.NODE_ENV });
  const logger = createLogger({ name: "hitrail", level: env.LOG_LEVEL });
  const lifecycle = new Lifecycle(logger, 20_000);
  const say = (line: string) => process.stdout.write(`${line}\n`);

  try {
    if (!env.DATABASE_URL) {
      const dataDir = path.resolve(env.DATA_DIR, "postgres");
      say(
        `hitrail: no DATABASE_URL, starting embedded PostgreSQL in ${dataDir} (port ${env.EMBEDDED_PG_PORT})`,
      );
      const pg = await startEmbeddedPostgres({
        dataDir,
        port: env.EMBEDDED_PG_PORT,
        onLog: (l) => logger.debug(l),
      });
      lifecycle.onShutdown("embedded postgres", () => pg.stop());
      const admin = createDb(pg.url, { max: 1 });
      const [exists] = await admin.sql`select 1 from pg_database where datname = 'hitrail'`;
      if (!exists) await admin.sql`create database hitrail`;
      await admin.close();
      env = { ...env, DATABASE_URL: pg.url.replace(/\/postgres$/, "/hitrail") };
    }
    const redis = await ensureRedis({
      configured: env.REDIS_URL,
      dataDir: env.DATA_DIR,
      port: env.EMBEDDED_REDIS_PORT,
    });
    if (redis.origin === "started") say(`hitrail: started redis-server on ${redis.url}`);
    lifecycle.onShutdown("redis-server", () => redis.stop());
    env = { ...env, REDIS_URL: redis.url };

    // The same two roles as in production (docs/security-tenancy.md): migrations run as the owner,
    // the apps as hitrail_app (row-level security applies), the worker's sweeps as hitrail_maintainer.
    // Without MIGRATE_DATABASE_URL the given (or embedded) URL is the owner's and the two roles are
    // made on the same server, with passwords new on every start.
    const owner = env.MIGRATE_DATABASE_URL ?? (env.DATABASE_URL as string);
    const derived = derivedRoleUrls(owner);
    env = {
      ...env,
      DATABASE_URL: env.MIGRATE_DATABASE_URL ? env.DATABASE_URL : derived.app,
      MAINTENANCE_DATABASE_URL: env.MAINTENANCE_DATABASE_URL ?? derived.maintenance,
    };
    const { applied } = await runMigrations(owner, {
      app: env.DATABASE_URL,
      maintenance: env.MAINTENANCE_DATABASE_URL,
    });
    if (applied > 0) say(`hitrail: applied ${applied} migration(s)`);
    const seedDb = createDb(env.DATABASE_URL as string, { max: 2 });
    const demo = await seedDemo(seedDb.db, env);
    await seedDb.close();

    // Registered first, so shutdown stops accepting traffic before closing pools underneath.
    const apps = new Lifecycle(logger, 15_000);
    lifecycle.onShutdown("apps", () => apps.shutdown("stop"));
    const tracker = await startTracker(env, { logger: logger.child({ app: "tracker" }), lifecycle: apps });
    const api = await startApi(env, { logger: logger.child({ app: "api" }), lifecycle: apps });
    const worker = await startWorkerIfAvailable(env, logger, apps);
    const web = await startDashboard(env, api.url, say);
    if (web) apps.onShutdown("web", () => web.close());
    const pages = await startDemoPages({
      port: env.DEMO_PAGES_PORT,
      host: "127.0.0.1",
      trackerUrl: demo.trackerUrl,
    });
    apps.onShutdown("demo pages", () => pages.close());
    // Lifecycle runs closers in order; the outer one must stop apps before databases.
    lifecycle.prioritize("apps");

    say("");
    say("Hitrail is running.");
    if (web) say(`  dashboard         ${web.url}  (sign up; the first account creates its workspace)`);
    say(`  API (tRPC)        ${api.url.replace("0.0.0.0", "127.0.0.1")}/trpc`);
    say(
      `  tracking domain   ${demo.trackingDomain}  → tracker ${tracker.url.replace("0.0.0.0", "127.0.0.1")}`,
    );
    say(`  demo entrance     ${demo.entranceUrl}`);
    say(`  postback URL      ${demo.postbackUrl}`);
    say(`  demo pages        ${pages.url}/lander`);
    if (worker) say(`  worker            ${worker}`);
    say(`  demo API key      ${demo.apiKey}`);
    say("Stop with Ctrl-C.");
  } catch (error) {
    await lifecycle.shutdown("start failed");
    exitOnStartupError("start", "cannot start", error);
  }
  lifecycle.handleSignals();
}

/** URLs of the app and maintenance roles on the owner's server and database. */
function derivedRoleUrls(ownerUrl: string): { app: string; maintenance: string } {
  const as = (user: string) => {
    const u = new URL(ownerUrl);
    u.username = user;
    u.password = randomBytes(18).toString("hex");
    return u.toString();
  };
  return { app: as("hitrail_app"), maintenance: as("hitrail_maintainer") };
}

/** The web dashboard on WEB_PORT, built first when this checkout has never built it. */
async function startDashboard(env: Env, apiUrl: string, say: (line: string) => void) {
  const { buildWeb, DEFAULT_DIST, startWeb } = await import("@hitrail/web");
  if (!existsSync(path.join(DEFAULT_DIST, "index.html"))) {
    say("hitrail: building the dashboard (first start only)…");
    await buildWeb();
  }
  return startWeb({ apiUrl: apiUrl.replace("0.0.0.0", "127.0.0.1"), port: env.WEB_PORT, host: env.HOST });
}

async function startWorkerIfAvailable(
  env: Env,
  logger: ReturnType<typeof createLogger>,
  lifecycle: Lifecycle,
) {
  const mod = (await import("@hitrail/worker").catch(() => ({}))) as {
    startWorker?: (env: Env, opts: { logger: unknown; lifecycle: Lifecycle }) => Promise<{ url?: string }>;
  };
  if (!mod.startWorker) return null;
  const worker = await mod.startWorker(env, { logger: logger.child({ app: "worker" }), lifecycle });
  return worker.url ?? "running";
}

void main();
