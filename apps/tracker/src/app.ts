import { randomUUID } from "node:crypto";
import { ping } from "@hitrail/db";
import { captureException } from "@hitrail/observability";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { withDeadline } from "./db-breaker.ts";
import type { TrackerDeps } from "./deps.ts";
import { registerDomainVerification, WELL_KNOWN_PREFIX } from "./domain-verification.ts";
import { lazyRequestLogger } from "./request-logger.ts";
import { registerTrackerRoutes } from "./routes.ts";
import type { HostWorkspace } from "./workspace-resolver.ts";

const UNROUTED = new Set(["/healthz", "/readyz"]);

/**
 * The tracker answers on every workspace's tracking domains. The Host header picks the workspace;
 * an unknown host gets a bare 404 that says nothing about which hosts exist.
 */
export async function buildTracker(deps: TrackerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Per-request lines would cost more than the redirect itself; we log outcomes where they are decided.
    logController: new LogController({ disableRequestLogging: true }),
    // request.log is made when a request first logs: most never do (request-logger.ts).
    childLoggerFactory: lazyRequestLogger,
    trustProxy: deps.env.TRUST_PROXY,
    genReqId: (req) => (req.headers["x-request-id"] as string | undefined)?.slice(0, 64) || randomUUID(),
    bodyLimit: 64 * 1024,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 200 },
  });

  app.decorateRequest("workspace", null as unknown as HostWorkspace);

  app.addHook("onRequest", async (request, reply) => {
    const query = request.url.indexOf("?");
    const path = query === -1 ? request.url : request.url.slice(0, query);
    // Health checks answer on any host; domain verification on hosts that are not routed yet.
    if (UNROUTED.has(path) || path.startsWith(WELL_KNOWN_PREFIX)) return;
    const workspace = await deps.workspaces.resolve(request.headers.host);
    if (!workspace) {
      request.log.info({ host: request.headers.host, url: request.url }, "unknown tracking host");
      return reply.code(404).type("text/plain").send("Not Found");
    }
    request.workspace = workspace;
  });

  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    const status =
      error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error, url: request.url }, "tracker request failed");
      captureException(error, { url: request.url });
      return reply.code(503).send({ error: "temporarily unavailable, please retry" });
    }
    request.log.info({ url: request.url, err: error.message }, "bad request");
    return reply.code(status).send({ error: error.message });
  });

  app.setNotFoundHandler((request, reply) => {
    request.log.info({ url: request.url }, "no such tracker route");
    return reply.code(404).send({ error: "not found" });
  });

  app.get("/healthz", async () => ({ ok: true }));
  // Ready means "send me traffic": without Redis nothing acknowledged could be kept through a
  // database outage, so that is 503; without PostgreSQL the tracker still serves (hits and postbacks
  // spool), so that is 200 with the degradation named. Either way the answer comes within a second.
  app.get("/readyz", async (_request, reply) => {
    const problem = (error: unknown) => String((error as Error)?.message ?? error).split("\n")[0];
    const [postgres, redis] = await Promise.all([
      deps.breaker.isDown
        ? Promise.resolve(`unreachable (${deps.breaker.reason ?? "down"}); spooling`)
        : withDeadline(ping(deps.db.sql), 800).then(() => null, problem),
      withDeadline(deps.redis.ping(), 800).then(() => null, problem),
    ]);
    if (redis !== null) {
      return reply.code(503).send({ ok: false, error: `redis: ${redis}`, ...(postgres ? { postgres } : {}) });
    }
    return postgres === null ? { ok: true } : { ok: true, degraded: { postgres } };
  });

  await registerDomainVerification(app, deps);
  await registerTrackerRoutes(app, deps);
  return app;
}
