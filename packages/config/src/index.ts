export { ConfigError, type Env, envSchema, loadEnv, publicLinkBase, requireEnv } from "./env.ts";
