import { randomUUID } from "node:crypto";
import fastifyCookie from "@fastify/cookie";
import { type DbClient, ping } from "@hitrail/db";
import type { Logger } from "@hitrail/observability";
import { captureException, scrubError } from "@hitrail/observability";
import type { Redis } from "@hitrail/queue";
import { type FastifyTRPCPluginOptions, fastifyTRPCPlugin } from "@trpc/server/adapters/fastify";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { createLimits } from "./auth/limits.ts";
import { errorIdOf, ServiceError } from "./errors.ts";
import { type Mailer, smtpMailer } from "./mail.ts";
import { ApiMetrics } from "./metrics.ts";
import { primaryOnly, replicaRouting } from "./read-routing.ts";
import { type AppRouter, appRouter } from "./router/root.ts";
import { redisRoutingNotifier } from "./routing.ts";
import { type ApiSettings, DEFAULT_SETTINGS, type DomainChecks, defaultDomainChecks } from "./settings.ts";
import { mayIssueCertificate } from "./tls-ask.ts";
import { createContextFactory } from "./trpc.ts";

export interface ApiDeps {
  /** The primary. */
  db: DbClient;
  /**
   * A streaming replica of `db` for read-only procedures (DATABASE_READ_URL), used while it is within
   * `maxReplicaLagSeconds` and has replayed the caller's own writes; none: every read on the primary.
   */
  readDb?: DbClient | null;
  maxReplicaLagSeconds?: number;
  /** How long one measurement of the replica's lag stands (ms); tests shorten it. */
  replicaStateTtlMs?: number;
  logger: Logger;
  /** Shared attempt counters (sign-in limits, TLS asks) live here, under `redisPrefix`. */
  redis: Redis;
  redisPrefix: string;
  settings?: Partial<ApiSettings>;
  /** DNS and HTTP lookups for custom-domain verification; real ones unless a test injects its own. */
  domainChecks?: Partial<DomainChecks>;
  /** Outgoing email; by default SMTP when `settings.mail` is set, else none (links shown instead). */
  mailer?: Mailer | null;
}

/** Headers every answer carries: the api serves JSON only, never a page to frame or sniff. */
export const API_SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const settings: ApiSettings = { ...DEFAULT_SETTINGS, ...deps.settings };
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Per-request lines would cost more than the redirect itself; we log outcomes where they are decided.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (req) => (req.headers["x-request-id"] as string | undefined)?.slice(0, 64) || randomUUID(),
    routerOptions: { maxParamLength: 5_000 },
    // The client address feeds the attempt limits: X-Forwarded-For counts only from a proxy we
    // trust (TRUST_PROXY), or from this machine (the dashboard server of `pnpm start`).
    trustProxy: settings.trustProxy ? true : "loopback",
  });
  const domainChecks: DomainChecks = { ...defaultDomainChecks, ...deps.domainChecks };
  const mailer = deps.mailer !== undefined ? deps.mailer : settings.mail ? smtpMailer(settings.mail) : null;
  if (mailer) app.addHook("onClose", async () => mailer.close());
  const limits = createLimits(deps.redis, deps.redisPrefix, settings);
  const metrics = new ApiMetrics();
  const readRouting = deps.readDb
    ? replicaRouting({
        primary: deps.db,
        replica: deps.readDb,
        maxLagSeconds: deps.maxReplicaLagSeconds ?? 10,
        stateTtlMs: deps.replicaStateTtlMs,
        redis: deps.redis,
        redisPrefix: deps.redisPrefix,
        logger: deps.logger,
        metrics,
      })
    : primaryOnly(deps.db, metrics);

  app.addHook("onRequest", async (request, reply) => {
    reply.headers(API_SECURITY_HEADERS);
    // Mutations take JSON only: a form (urlencoded, multipart, text/plain) is what a cross-site page
    // can post without asking, so it never reaches a procedure (sign-out included).
    if (request.method === "POST" && request.url.startsWith("/trpc/")) {
      if (mediaType(request.headers["content-type"]) !== "application/json") {
        request.log.info({ contentType: request.headers["content-type"] }, "api request refused: not JSON");
        return reply.code(415).send({
          error: {
            message: "send JSON (content-type: application/json)",
            code: -32600,
            data: { code: "UNSUPPORTED_MEDIA_TYPE", httpStatus: 415 },
          },
        });
      }
    }
  });
  // Anything that escapes a route (outside tRPC): a generic answer with an id, details in the log.
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status < 500) return reply.code(status).send({ error: error.message });
    const errorId = errorIdOf(error);
    request.log.error({ err: scrubError(error), errorId, url: request.url }, "api request failed");
    captureException(error, { errorId });
    return reply.code(500).send({ error: `something went wrong on our side (error id ${errorId})`, errorId });
  });

  await app.register(fastifyCookie);
  await app.register(fastifyTRPCPlugin, {
    prefix: "/trpc",
    trpcOptions: {
      router: appRouter,
      createContext: createContextFactory({
        db: deps.db,
        readRouting,
        logger: deps.logger,
        settings,
        domainChecks,
        limits,
        mailer,
        routing: redisRoutingNotifier(deps.redis, deps.redisPrefix, deps.logger),
      }),
      onError: ({ error, path }) => {
        if (error.code === "INTERNAL_SERVER_ERROR") {
          const errorId = errorIdOf(error);
          // The details (the failing query, its cause) are here, under the id the answer showed;
          // query parameters and hashes are not.
          deps.logger.error({ err: scrubError(error), path, errorId }, "api procedure failed");
          captureException(error, { path, errorId });
        } else {
          deps.logger.info({ path, code: error.code, message: error.message }, "api request refused");
        }
      },
      // A limit's answer says when to come back, in the header too.
      responseMeta: ({ errors }) => {
        for (const error of errors) {
          const cause = error.cause;
          if (cause instanceof ServiceError && cause.code === "TOO_MANY_REQUESTS") {
            const retry = (cause.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
            if (retry) return { headers: { "retry-after": String(retry) } };
          }
        }
        return {};
      },
    } satisfies FastifyTRPCPluginOptions<AppRouter>["trpcOptions"],
  });
  app.get("/healthz", async () => ({ ok: true }));
  // For the internal network only: the edge routes /trpc/* alone to the api.
  app.get("/metrics", async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });
  // Within a second, with the reason: a hung dependency must not hang the probe that reports it.
  app.get("/readyz", async (_request, reply) => {
    const check = async (name: string, probe: () => PromiseLike<unknown>) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          probe(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error("no answer within 800 ms")), 800);
          }),
        ]);
        return null;
      } catch (error) {
        return `${name}: ${String((error as Error)?.message ?? error).split("\n")[0]}`;
      } finally {
        clearTimeout(timer);
      }
    };
    const problems = (
      await Promise.all([check("postgres", () => ping(deps.db.sql)), check("redis", () => deps.redis.ping())])
    ).filter((p) => p !== null);
    return problems.length === 0
      ? { ok: true }
      : reply.code(503).send({ ok: false, error: problems.join("; ") });
  });
  app.get<{ Querystring: { domain?: string } }>("/internal/tls/ask", async (request, reply) => {
    const domain = request.query.domain ?? "";
    if (!(await limits.tlsAsk(request.ip))) {
      request.log.warn({ domain, requester: request.ip }, "on-demand TLS ask refused: too many asks");
      return reply.code(429).header("retry-after", "60").send("too many asks");
    }
    const ok = domain !== "" && (await mayIssueCertificate(deps.db.db, settings, domain));
    request.log.info({ domain, ok }, "on-demand TLS ask");
    return reply.code(ok ? 200 : 404).send(ok ? "ok" : "unknown domain");
  });
  return app;
}
