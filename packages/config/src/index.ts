export { ConfigError, type Env, envSchema, loadEnv, processEnv, requireEnv } from "./env.ts";
