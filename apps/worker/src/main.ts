import { type Env, loadEnv } from "@hitrail/config";
import {
  createLogger,
  exitOnStartupError,
  guardProcess,
  initSentry,
  Lifecycle,
} from "@hitrail/observability";
import { startWorker } from "./worker.ts";

/** `tsx apps/worker/src/main.ts`: one process consuming the queues WORKER_QUEUES names (all by default). */
async function main(): Promise<void> {
  let env: Env;
  try {
    env = loadEnv();
  } catch (error) {
    exitOnStartupError("worker", "configuration", error);
  }
  initSentry({ dsn: env.SENTRY_DSN, app: "worker", environment: env.NODE_ENV });
  const logger = createLogger({ name: "worker", level: env.LOG_LEVEL });
  const lifecycle = new Lifecycle(logger);
  guardProcess(logger, { app: "worker", onFatal: () => lifecycle.shutdown("uncaught exception") });
  try {
    const worker = await startWorker(env, { logger, lifecycle });
    logger.info({ url: worker.url, queues: worker.consumed }, "worker running");
  } catch (error) {
    exitOnStartupError("worker", "cannot start", error);
  }
  lifecycle.handleSignals();
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
