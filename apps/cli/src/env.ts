import { type Env, loadEnv, processEnv } from "@hitrail/config";

/** The CLI's one read of the environment. */
export function cliEnv(): Env {
  return loadEnv(processEnv());
}

export function rawEnv(): Record<string, string | undefined> {
  return processEnv();
}

/**
 * `pnpm start`'s environment: production mode unless NODE_ENV says otherwise (no stack traces or
 * development shortcuts in answers), set in `raw` too so libraries that read NODE_ENV agree.
 */
export function startEnv(raw: Record<string, string | undefined> = processEnv()): Env {
  if (!raw.NODE_ENV) raw.NODE_ENV = "production";
  return loadEnv(raw);
}
