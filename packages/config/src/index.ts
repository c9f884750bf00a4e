export { ConfigError, type Env, envSchema, loadEnv, requireEnv } from "./env.ts";
