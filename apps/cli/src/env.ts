import { type Env, loadEnv } from "@hitrail/config";

/** The CLI's one read of the environment. */
export function cliEnv(): Env {
  return loadEnv(process.env);
}

export function rawEnv(): Record<string, string | undefined> {
  return process.env;
}
