import { randomUUID } from "node:crypto";
import fastifyCookie from "@fastify/cookie";
import type { DbClient } from "@hitrail/db";
import type { Logger } from "@hitrail/observability";
import { captureException } from "@hitrail/observability";
import { type FastifyTRPCPluginOptions, fastifyTRPCPlugin } from "@trpc/server/adapters/fastify";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { type AppRouter, appRouter } from "./router/root.ts";
import { type ApiSettings, DEFAULT_SETTINGS, type DomainChecks, defaultDomainChecks } from "./settings.ts";
import { mayIssueCertificate } from "./tls-ask.ts";
import { createContextFactory } from "./trpc.ts";

export interface ApiDeps {
  db: DbClient;
  logger: Logger;
  settings?: Partial<ApiSettings>;
  /** DNS and HTTP lookups for custom-domain verification; real ones unless a test injects its own. */
  domainChecks?: Partial<DomainChecks>;
}

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Per-request lines would cost more than the redirect itself; we log outcomes where they are decided.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (req) => (req.headers["x-request-id"] as string | undefined)?.slice(0, 64) || randomUUID(),
    routerOptions: { maxParamLength: 5_000 },
  });
  const settings: ApiSettings = { ...DEFAULT_SETTINGS, ...deps.settings };
  const domainChecks: DomainChecks = { ...defaultDomainChecks, ...deps.domainChecks };
  await app.register(fastifyCookie);
  await app.register(fastifyTRPCPlugin, {
    prefix: "/trpc",
    trpcOptions: {
      router: appRouter,
      createContext: createContextFactory({ db: deps.db, logger: deps.logger, settings, domainChecks }),
      onError: ({ error, path }) => {
        if (error.code === "INTERNAL_SERVER_ERROR") {
          deps.logger.error({ err: error, path }, "api procedure failed");
          captureException(error, { path });
        } else {
          deps.logger.info({ path, code: error.code, message: error.message }, "api request refused");
        }
      },
    } satisfies FastifyTRPCPluginOptions<AppRouter>["trpcOptions"],
  });
  app.get("/healthz", async () => ({ ok: true }));
  // Within a second, with the reason: a hung database must not hang the probe that reports it.
  app.get("/readyz", async (_request, reply) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        deps.db.sql`select 1`,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("no answer within 800 ms")), 800);
        }),
      ]);
      return { ok: true };
    } catch (error) {
      return reply
        .code(503)
        .send({ ok: false, error: `postgres: ${(error as Error).message.split("\n")[0]}` });
    } finally {
      clearTimeout(timer);
    }
  });
  app.get<{ Querystring: { domain?: string } }>("/internal/tls/ask", async (request, reply) => {
    const domain = request.query.domain ?? "";
    const ok = domain !== "" && (await mayIssueCertificate(deps.db.db, domain));
    request.log.info({ domain, ok }, "on-demand TLS ask");
    return reply.code(ok ? 200 : 404).send(ok ? "ok" : "unknown domain");
  });
  return app;
}
