import { type Env, loadEnv } from "@hitrail/config";
import { exitOnStartupError } from "./fatal.ts";
import { guardProcess } from "./guard.ts";
import { Lifecycle } from "./lifecycle.ts";
import { createLogger, type Logger } from "./logger.ts";
import { initSentry } from "./sentry.ts";

/**
 * The one start-up of every long-running app (`apps/<app>/src/main.ts`): the environment validated
 * (a bad one stops the process with one line), Sentry before anything can throw, the logger, the
 * process guard wired to a graceful shutdown, the app started, one line saying it runs, and signal
 * handling last so a signal during start-up still exits.
 */
export async function runApp<T>(
  app: string,
  start: (env: Env, deps: { logger: Logger; lifecycle: Lifecycle }) => Promise<T>,
  running: (started: T) => { fields: Record<string, unknown>; message: string },
): Promise<void> {
  let env: Env;
  try {
    env = loadEnv();
  } catch (error) {
    exitOnStartupError(app, "configuration", error);
  }
  await initSentry({ dsn: env.SENTRY_DSN, app, environment: env.NODE_ENV });
  const logger = createLogger({ name: app, level: env.LOG_LEVEL });
  const lifecycle = new Lifecycle(logger);
  guardProcess(logger, { app, onFatal: () => lifecycle.shutdown("uncaught exception") });
  try {
    const started = await start(env, { logger, lifecycle });
    const line = running(started);
    logger.info(line.fields, line.message);
  } catch (error) {
    exitOnStartupError(app, "cannot start", error);
  }
  lifecycle.handleSignals();
}
