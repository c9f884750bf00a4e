import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import path from "node:path";
import { describeRedisTarget, type Env, parseRedisUrl } from "@hitrail/config";
import { createDatabaseIfMissing, createDb, runMigrations, startEmbeddedPostgres } from "@hitrail/db";
import { createLogger, exitOnStartupError, initSentry, Lifecycle } from "@hitrail/observability";
import { seedDemo } from "./commands/seed-demo.ts";
import { startDemoPages } from "./demo-pages.ts";
import { rawEnv, startEnv } from "./env.ts";
import { ensureRedis } from "./infra.ts";
import { type SupervisedApp, Supervisor } from "./supervisor.ts";

/**
 * `pnpm start`: the whole stack on one machine for evaluation and development. PostgreSQL and Redis
 * (found or started), migrations and the demo workspace here; the tracker, the api and the worker as
 * child processes from their production entry points, restarted when one dies; the dashboard and the
 * demo pages in this process. Production runs each app as its own container (see infra/).
 */

/** What `pnpm start` found or started, which every app it runs is pointed at. */
export interface StackSettings {
  /** The apps' role (row-level security applies to it). */
  databaseUrl: string;
  /** The worker's cross-workspace sweeps. */
  maintenanceUrl: string;
  redisUrl: string;
  host: string;
  ports: { tracker: number; api: number; worker: number };
  /** Port written into tracking links: PUBLIC_PORT when set, else the tracker's own port. */
  publicPort: number;
}

/**
 * The environment of the apps `pnpm start` runs: the user's own settings, with the databases and
 * ports this start resolved. The one place to change what the children get.
 */
export function childEnvironment(
  raw: Record<string, string | undefined>,
  stack: StackSettings,
): NodeJS.ProcessEnv {
  return {
    ...raw,
    DATABASE_URL: stack.databaseUrl,
    MAINTENANCE_DATABASE_URL: stack.maintenanceUrl,
    REDIS_URL: stack.redisUrl,
    HOST: stack.host,
    TRACKER_PORT: String(stack.ports.tracker),
    PUBLIC_PORT: String(stack.publicPort),
    API_PORT: String(stack.ports.api),
    WORKER_PORT: String(stack.ports.worker),
  };
}

/** A URL with its password replaced by `***`, for saying which server is used. */
/** A Redis URL for the log: one server's with its password masked, or a cluster's nodes. */
function redisUrlInLog(url: string): string {
  const target = parseRedisUrl(url);
  return target.kind === "single" ? maskUrl(url) : describeRedisTarget(target);
}

export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(not a URL)";
  }
}

/** The address to reach a server listening on `host` from this machine. */
function reachable(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

/** A configured port, or a free one when it is 0 (kept across restarts, so URLs stay the same). */
async function fixedPort(port: number, host: string): Promise<number> {
  if (port !== 0) return port;
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function main(): Promise<void> {
  let env: Env;
  try {
    // Production mode unless told otherwise (NODE_ENV=development pnpm start); the apps inherit it.
    env = startEnv();
  } catch (error) {
    exitOnStartupError("start", "configuration", error);
  }
  await initSentry({ dsn: env.SENTRY_DSN, app: "start", environment: env.NODE_ENV });
  const logger = createLogger({ name: "hitrail", level: env.LOG_LEVEL });
  // Closers run in order: what serves first, the apps, then Redis and PostgreSQL under them.
  const lifecycle = new Lifecycle(logger, 30_000);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  let stopping = false;
  let stoppingSince = 0;
  const stop = (reason: string) => {
    if (stopping) {
      // A terminal's Ctrl-C comes twice (to the process group, and relayed by pnpm): say nothing then.
      if (Date.now() - stoppingSince > 1_000)
        say("hitrail: still stopping (the apps finish what they are doing first)…");
      return;
    }
    stopping = true;
    stoppingSince = Date.now();
    say(`hitrail: stopping (${reason})…`);
    lifecycle.shutdown(reason).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // Installed first: a Ctrl-C during start-up stops what is already running, in order.
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));

  const webClosers: Array<() => Promise<void>> = [];
  let supervisor: Supervisor | null = null;
  lifecycle.onShutdown("dashboard and demo pages", async () => {
    await Promise.all(webClosers.map((close) => close()));
  });
  lifecycle.onShutdown("apps", async () => supervisor?.stop());

  try {
    let databaseUrl = env.DATABASE_URL;
    if (databaseUrl) {
      say(`hitrail: PostgreSQL from DATABASE_URL: ${maskUrl(databaseUrl)}`);
    } else {
      const dataDir = path.resolve(env.DATA_DIR, "postgres");
      const pg = await startEmbeddedPostgres({
        dataDir,
        port: env.EMBEDDED_PG_PORT,
        ownSession: true,
        onLog: (l) => logger.debug(l),
      });
      lifecycle.onShutdown("embedded postgres", () => pg.stop());
      const port = new URL(pg.url).port;
      say(
        `hitrail: PostgreSQL embedded at 127.0.0.1:${port}, data in ${dataDir}${pg.reused ? " (already running: taken over)" : ""}`,
      );
      const admin = createDb(pg.url, { max: 1 });
      await createDatabaseIfMissing(admin.sql, "hitrail");
      await admin.close();
      databaseUrl = pg.url.replace(/\/postgres$/, "/hitrail");
    }

    const redis = await ensureRedis({
      configured: env.REDIS_URL,
      dataDir: env.DATA_DIR,
      port: env.EMBEDDED_REDIS_PORT,
    });
    lifecycle.onShutdown("redis-server", () => redis.stop());
    say(
      redis.origin === "configured"
        ? `hitrail: Redis from REDIS_URL: ${redisUrlInLog(redis.url)}`
        : redis.origin === "local"
          ? `hitrail: Redis local at ${new URL(redis.url).host} (already running)`
          : `hitrail: Redis started at ${new URL(redis.url).host}, data in ${path.resolve(env.DATA_DIR, "redis")}`,
    );

    // The same two roles as in production (docs/security-tenancy.md): migrations run as the owner,
    // the apps as hitrail_app (row-level security applies), the worker's sweeps as hitrail_maintainer.
    // Without MIGRATE_DATABASE_URL the given (or embedded) URL is the owner's and the two roles are
    // made on the same server, with passwords new on every start.
    const owner = env.MIGRATE_DATABASE_URL ?? databaseUrl;
    const derived = derivedRoleUrls(owner);
    const appUrl = env.MIGRATE_DATABASE_URL ? databaseUrl : derived.app;
    const maintenanceUrl = env.MAINTENANCE_DATABASE_URL ?? derived.maintenance;
    const ports = {
      tracker: await fixedPort(env.TRACKER_PORT, env.HOST),
      api: await fixedPort(env.API_PORT, env.HOST),
      worker: await fixedPort(env.WORKER_PORT, env.HOST),
    };
    const stack: StackSettings = {
      databaseUrl: appUrl,
      maintenanceUrl,
      redisUrl: redis.url,
      host: env.HOST,
      ports,
      // Visitors reach the tracker on its own port here, so every link shown carries it.
      publicPort: env.PUBLIC_PORT ?? ports.tracker,
    };
    const { applied } = await runMigrations(owner, { app: appUrl, maintenance: maintenanceUrl });
    if (applied > 0) say(`hitrail: applied ${applied} migration(s)`);
    const seedDb = createDb(appUrl, { max: 2 });
    const demo = await seedDemo(seedDb.db, {
      ...env,
      DATABASE_URL: appUrl,
      REDIS_URL: redis.url,
      TRACKER_PORT: stack.ports.tracker,
      PUBLIC_PORT: stack.publicPort,
      API_PORT: stack.ports.api,
    });
    await seedDb.close();

    const local = reachable(env.HOST);
    const url = (port: number) => `http://${local}:${port}`;
    const apps: SupervisedApp[] = [
      {
        name: "tracker",
        entry: "apps/tracker/src/main.ts",
        healthUrl: `${url(stack.ports.tracker)}/healthz`,
      },
      { name: "api", entry: "apps/api/src/main.ts", healthUrl: `${url(stack.ports.api)}/healthz` },
      { name: "worker", entry: "apps/worker/src/main.ts", healthUrl: `${url(stack.ports.worker)}/healthz` },
    ];
    const running = new Supervisor({ env: childEnvironment(rawEnv(), stack), say });
    supervisor = running;
    await Promise.all(apps.map((app) => running.start(app)));

    const web = await startDashboard(env, url(stack.ports.api), say);
    webClosers.push(() => web.close());
    const pages = await startDemoPages({
      port: env.DEMO_PAGES_PORT,
      host: "127.0.0.1",
      trackerUrl: demo.trackerUrl,
    });
    webClosers.push(() => pages.close());

    say("");
    say("Hitrail is running.");
    say(`  dashboard         ${web.url}  (sign up; the first account creates its workspace)`);
    if (demo.signIn) {
      say(
        `  demo sign-in      ${demo.signIn.email} / ${demo.signIn.password}  (the demo workspace: its reports show the demo conversion)`,
      );
    }
    say(`  API (tRPC)        ${url(stack.ports.api)}/trpc`);
    say(`  tracking domain   ${demo.trackingDomain}  → tracker ${url(stack.ports.tracker)}`);
    say(`  demo entrance     ${demo.entranceUrl}`);
    say(`  postback URL      ${demo.postbackUrl}`);
    say(`  demo pages        ${pages.url}/lander`);
    say(`  worker            ${url(stack.ports.worker)}  (/metrics, /readyz)`);
    say(`  demo API key      ${demo.apiKey}`);
    say("Stop with Ctrl-C.");
  } catch (error) {
    // A Ctrl-C during start-up: the shutdown under way stops what runs and exits.
    if (stopping) return;
    stopping = true;
    await lifecycle.shutdown("start failed");
    exitOnStartupError("start", "cannot start", error);
  }
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
  const { buildWeb, DEFAULT_DIST, dashboardBuildStaleness, startWeb } = await import("@hitrail/web");
  // Rebuilt whenever its sources are newer than the build (after a git pull too), never served stale.
  const stale = dashboardBuildStaleness(DEFAULT_DIST);
  if (stale) {
    say(`hitrail: building the dashboard (${stale})…`);
    await buildWeb();
  }
  const web = await startWeb({ apiUrl, port: env.WEB_PORT, host: env.HOST });
  const port = new URL(web.url).port;
  return { url: `http://${reachable(env.HOST)}:${port}`, close: web.close };
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
