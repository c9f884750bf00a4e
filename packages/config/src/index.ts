export { ConfigError, type Env, envSchema, loadEnv, processEnv, publicLinkBase, requireEnv } from "./env.ts";
export { describeRedisTarget, parseRedisUrl, type RedisTarget, RedisUrlError } from "./redis-url.ts";
