import { z } from "zod";
import { parseRedisUrl } from "./redis-url.ts";

const DAY_SECONDS = 86_400;

const port = z.coerce.number().int().min(0).max(65_535);
const bool = z
  .enum(["true", "false", "1", "0", "yes", "no", "on", "off", ""])
  .transform((v) => v === "true" || v === "1" || v === "yes" || v === "on");

const urlWithScheme = (scheme: RegExp, message: string) =>
  z
    .string()
    .trim()
    .refine((v) => scheme.test(v) && URL.canParse(v), message);

const postgresUrl = urlWithScheme(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL");
const redisUrl = z
  .string()
  .trim()
  .superRefine((v, ctx) => {
    try {
      parseRedisUrl(v);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
    }
  });

/**
 * Every setting any Hitrail process reads. Apps pick what they need from the parsed object;
 * nothing else in the codebase touches process.env.
 */
export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  /** The apps' role (api, tracker, worker, cli): neither the tables' owner nor a superuser; row-level security applies. */
  DATABASE_URL: postgresUrl.optional(),
  /** The owner role `hitrail migrate` runs as; it provisions the roles of DATABASE_URL and MAINTENANCE_DATABASE_URL. */
  MIGRATE_DATABASE_URL: postgresUrl.optional(),
  /** The worker's cross-workspace maintenance role (outbox relay, rollup sweeps, overdue deliveries). */
  MAINTENANCE_DATABASE_URL: postgresUrl.optional(),
  /**
   * A streaming read replica of DATABASE_URL (same role and database), for the dashboard's reads:
   * reports, exports, lists and logs. Unset: everything reads from the primary.
   */
  DATABASE_READ_URL: postgresUrl.optional(),
  /** Replica lag beyond which the api reads from the primary instead (seconds). */
  DATABASE_READ_MAX_LAG_SECONDS: z.coerce.number().min(0).max(3_600).default(10),
  /**
   * One Redis (`redis://host:6379`), or a Redis Cluster by its nodes
   * (`redis+cluster://host1:6379,host2:6379,host3:6379`; `rediss+cluster://` for TLS).
   */
  REDIS_URL: redisUrl.optional(),
  /** Prefix for every Redis key and BullMQ queue, so several deployments (or test files) share one Redis. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]*$/, "may contain letters, digits, ':', '_' and '-' only")
    .default("hitrail"),
  TRACKER_PORT: port.default(8080),
  API_PORT: port.default(8081),
  WEB_PORT: port.default(8082),
  DEMO_PAGES_PORT: port.default(8083),
  /**
   * Address every server listens on. Loopback by default, so `pnpm start` on a laptop is not open to
   * the network; the container images set 0.0.0.0.
   */
  HOST: z.string().trim().min(1).default("127.0.0.1"),
  /** Tracking domains default to `{workspace slug}.{BASE_DOMAIN}`. */
  BASE_DOMAIN: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9.-]+$/, "must be a host name such as track.example.com")
    .default("localhost"),
  /** Public scheme of tracking links; local set-ups run plain HTTP. */
  PUBLIC_SCHEME: z.enum(["http", "https"]).default("http"),
  /**
   * Port visitors reach the tracker on, written into every tracking link the dashboard, the API and
   * the CLI show. Unset: none (the scheme's default, as behind a proxy on 80/443). `pnpm start` sets
   * it to the tracker's port.
   */
  PUBLIC_PORT: port.optional(),
  /** Visitor-session lifetime when a workspace has not set its own (seed: 4 days). */
  SESSION_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(90 * DAY_SECONDS)
    .default(4 * DAY_SECONDS),
  SENTRY_DSN: z.union([z.literal(""), z.url()]).optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Comma-separated CIDRs outbound postbacks may reach although private (tests and on-prem receivers). */
  OUTBOUND_ALLOW_CIDRS: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  /** Port of the worker's admin server: /healthz, /readyz, /metrics and the /queues dashboard. */
  WORKER_PORT: port.default(8084),
  /**
   * Token for the /queues dashboard (Bearer, or Basic with the token as password). Unset: the
   * dashboard is off.
   */
  WORKER_ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /** Comma-separated queues this worker process consumes (postbacks, rollups, maintenance); empty: all. */
  WORKER_QUEUES: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    ),
  /** Whether this worker process also runs the outbox relay (safe to run in several at once). */
  WORKER_RELAY: bool.default(true),
  /** Postback jobs one worker process runs at once. */
  WORKER_POSTBACK_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(50),
  /** Postbacks one worker process sends to the same host at once, so a slow receiver cannot take every slot. */
  WORKER_POSTBACK_HOST_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(16),
  /** Where the start command keeps embedded PostgreSQL (and its own Redis) data. */
  DATA_DIR: z.string().default(".data"),
  /** Port of the embedded PostgreSQL the start command runs when DATABASE_URL is unset. */
  EMBEDDED_PG_PORT: port.default(54329),
  /** Port of the redis-server the start command starts when no Redis is reachable. */
  EMBEDDED_REDIS_PORT: port.default(6390),
  HIT_BATCH_MAX: z.coerce.number().int().min(1).max(10_000).default(500),
  HIT_BATCH_WAIT_MS: z.coerce.number().min(0).max(1_000).default(2),
  /** Postbacks per conversion transaction (group commit). */
  CONVERSION_BATCH_MAX: z.coerce.number().int().min(1).max(5_000).default(256),
  /**
   * Conversion transactions in flight at once: fewer means larger batches and fewer round trips. One
   * by default: a batch's fixed cost (its statements' executor start-up, the commit, the driver's
   * round trips) is most of what Postgres and the tracker spend per postback besides the rows
   * themselves, and with two in flight each batch took half the waiting postbacks (about 18 a batch
   * under `pnpm bench postback` against about 30 with one); one in flight cost ~10% less CPU per
   * postback in both the tracker and its backends, measured back to back.
   */
  CONVERSION_BATCH_IN_FLIGHT: z.coerce.number().int().min(1).max(32).default(1),
  /** Days the received-postback log keeps (whole days are dropped by the worker's daily job). */
  POSTBACK_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(90),
  /** Hours a traffic source's postback endpoint may fail every attempt before it is disabled. */
  POSTBACK_ENDPOINT_DISABLE_AFTER_HOURS: z.coerce.number().min(1).max(8_760).default(120),
  TRUST_PROXY: bool.default(false),
  /**
   * Who may create an account: `open` anyone; `invite` only through an invitation link; `first`
   * (default) the first account of the server openly, then only through invitations.
   */
  SIGNUP: z.enum(["open", "invite", "first"]).default("first"),
  /** Workspaces one account may create (an agency with more asks its operator to raise it). */
  MAX_WORKSPACES_PER_ACCOUNT: z.coerce.number().int().min(0).max(10_000).default(10),
  /** Failed sign-ins per account (any address) before it is locked for SIGNIN_WINDOW_SECONDS. */
  SIGNIN_MAX_PER_ACCOUNT: z.coerce.number().int().min(1).max(1_000).default(5),
  /** Sign-in and sign-up attempts per client address within SIGNIN_WINDOW_SECONDS. */
  SIGNIN_MAX_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(30),
  SIGNIN_WINDOW_SECONDS: z.coerce.number().int().min(10).max(DAY_SECONDS).default(900),
  /** Certificate asks (on-demand TLS) per requester per minute. */
  TLS_ASK_MAX_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(60),
  /** SMTP server for invitation emails (smtp://user:pass@host:587 or smtps://…). Unset: the dashboard shows the link. */
  SMTP_URL: urlWithScheme(/^smtps?:\/\//, "must be an smtp:// or smtps:// URL").optional(),
  /** Sender of invitation emails. */
  SMTP_FROM: z.string().trim().min(3).default("Hitrail <no-reply@localhost>"),
  /** Public URL of the dashboard, for links in emails (https://app.example.com). Required with SMTP_URL. */
  DASHBOARD_URL: urlWithScheme(/^https?:\/\//, "must be an http(s):// URL").optional(),
  /** Lifetime of a dashboard session cookie. */
  API_SESSION_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(300)
    .max(365 * DAY_SECONDS)
    .default(30 * DAY_SECONDS),
});

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
  }
}

type RawEnv = Record<string, string | undefined>;

/**
 * The process environment itself, for the few callers that pass it on unparsed (the CLI hands it to
 * the processes it supervises, `hitrail doctor` reports on it). The one read of `process.env` outside
 * tests and build tooling, enforced by Biome's noProcessEnv.
 */
export function processEnv(): RawEnv {
  return process.env;
}

/** Parses the environment; throws one ConfigError listing every problem at once. */
export function loadEnv(raw: RawEnv = process.env): Env {
  // Empty strings mean "unset" the way docker-compose and shells pass them.
  const cleaned: RawEnv = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = raw[key];
    if (value !== undefined && value !== "") cleaned[key] = value;
  }
  const parsed = envSchema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"} ${issue.message}`),
  );
}

/** The scheme and port of every tracking link (core's trackingOrigin adds the host). */
export function publicLinkBase(env: Pick<Env, "PUBLIC_SCHEME" | "PUBLIC_PORT">): {
  scheme: "http" | "https";
  port: number | null;
} {
  return { scheme: env.PUBLIC_SCHEME, port: env.PUBLIC_PORT ?? null };
}

/** Requires settings a particular app cannot run without; same one-message failure. */
export function requireEnv<K extends keyof Env>(
  env: Env,
  keys: K[],
): Env & { [P in K]-?: NonNullable<Env[P]> } {
  const missing = keys.filter((k) => env[k] === undefined || env[k] === "");
  if (missing.length > 0) throw new ConfigError(missing.map((k) => `${String(k)} is required`));
  return env as Env & { [P in K]-?: NonNullable<Env[P]> };
}
