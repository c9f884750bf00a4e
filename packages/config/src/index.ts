export { ConfigError, type Env, envSchema, loadEnv, processEnv, publicLinkBase, requireEnv } from "./env.ts";
