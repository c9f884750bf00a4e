import { existsSync } from "node:fs";
import path from "node:path";
import { startApi } from "@hitrail/api";
import { loadEnv } from "@hitrail/config";
import { createTestDatabase, type TestDatabase, testRedisPrefix, testRedisUrl } from "@hitrail/db/testing";
import { createLogger } from "@hitrail/observability";
import { createRedis } from "@hitrail/queue";
import { type RunningTracker, startTracker } from "@hitrail/tracker";
import { type RunningWorker, startWorker } from "@hitrail/worker";
import { type Browser, chromium, type Page } from "playwright-core";
import { onTestFailed } from "vitest";
import {
  buildWeb,
  DEFAULT_DIST,
  dashboardBuildStaleness,
  type RunningWeb,
  startWeb,
} from "../../src/server/index.ts";

// The real stack every browser test of the dashboard runs against, on a database and Redis prefix of
// its own: the api, the dashboard's own server (built first when its sources changed), Debian's
// Chromium, and on request the tracker (every link the dashboard shows then carries its port) and
// the worker (rollups, traffic-source postbacks).

export const CHROMIUM = "/usr/bin/chromium";
/** Without Chromium the browser suites are skipped (apt-get install chromium; .ci/run installs it). */
export const chromiumAvailable = existsSync(CHROMIUM);

export interface DashboardStack {
  t: TestDatabase;
  api: Awaited<ReturnType<typeof startApi>>;
  web: RunningWeb;
  browser: Browser;
  prefix: string;
  tracker: RunningTracker | null;
  worker: RunningWorker | null;
  /**
   * Records what went wrong around an assertion in this page: uncaught errors, console errors,
   * failed requests, 5xx answers and requests still unanswered. When the running test fails they
   * are printed with the stack's own warnings and errors, so a failure in CI says why, not only where.
   */
  watch: (page: Page) => void;
  close: () => Promise<void>;
}

export async function startDashboardStack(opts: {
  name: string;
  tracker?: boolean;
  worker?: boolean;
  /** BASE_DOMAIN (default track.test). */
  baseDomain?: string;
  /** More settings of the one environment (e.g. OUTBOUND_ALLOW_CIDRS). */
  env?: Record<string, string>;
  /** Host names Chromium resolves to this machine (the tracking domain, the user's own pages). */
  resolveToLocal?: readonly string[];
}): Promise<DashboardStack> {
  if (!existsSync(path.join(DEFAULT_DIST, "index.html")) || dashboardBuildStaleness(DEFAULT_DIST) !== null) {
    await buildWeb();
  }
  const t = await createTestDatabase();
  const prefix = testRedisPrefix(opts.name);
  const base = {
    DATABASE_URL: t.appUrl,
    MAINTENANCE_DATABASE_URL: t.maintenanceUrl,
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: prefix,
    BASE_DOMAIN: opts.baseDomain ?? "track.test",
    PUBLIC_SCHEME: "http",
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    ...opts.env,
  };
  // Kept, not printed: `watch` shows them when a test fails.
  const logs: string[] = [];
  const logger = createLogger({
    name: opts.name,
    level: "warn",
    destination: { write: (line: string) => void logs.push(line.trimEnd()) },
  });
  const tracker = opts.tracker ? await startTracker(loadEnv(base), { logger, port: 0 }) : null;
  // Every link the dashboard shows carries the tracker's port, as `pnpm start` arranges.
  const env = loadEnv(tracker ? { ...base, PUBLIC_PORT: new URL(tracker.url).port } : base);
  const api = await startApi(env, { logger, port: 0 });
  const worker = opts.worker ? await startWorker(env, { logger, port: false }) : null;
  const web = await startWeb({ apiUrl: api.url, port: 0 });
  const rules = (opts.resolveToLocal ?? []).map((host) => `MAP ${host} 127.0.0.1`).join(", ");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      ...(rules ? [`--host-resolver-rules=${rules}`] : []),
    ],
  });
  return {
    t,
    api,
    web,
    browser,
    prefix,
    tracker,
    worker,
    watch: (page) => {
      const trouble: string[] = [];
      const pending = new Map<object, string>();
      const now = () => new Date().toISOString().slice(11, 23);
      page.on("pageerror", (e) => trouble.push(`${now()} uncaught: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error") trouble.push(`${now()} console error: ${m.text()}`);
      });
      page.on("request", (r) => pending.set(r, `${now()} ${r.method()} ${r.url()}`));
      page.on("requestfinished", (r) => pending.delete(r));
      page.on("requestfailed", (r) => {
        pending.delete(r);
        trouble.push(`${now()} ${r.method()} ${r.url()} failed: ${r.failure()?.errorText}`);
      });
      page.on("response", (r) => {
        if (r.status() >= 500)
          trouble.push(`${now()} ${r.request().method()} ${r.url()} answered ${r.status()}`);
      });
      onTestFailed(() => {
        const unanswered = [...pending.values()].map((line) => `${line} (never answered)`);
        console.error(
          [
            `what the page saw, at ${now()}:`,
            ...trouble,
            ...unanswered,
            "the stack's warnings and errors:",
            ...logs,
          ].join("\n"),
        );
      });
    },
    close: async () => {
      await browser.close();
      await web.close();
      await tracker?.close();
      await worker?.close();
      await api.close();
      const redis = createRedis(testRedisUrl());
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      await t.drop();
    },
  };
}
