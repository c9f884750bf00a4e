import { redactUrl } from "@hitrail/observability";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { TrackerDeps } from "../deps.ts";
import { FunnelCache } from "../funnel-cache.ts";
import { PubSubFunnelHints } from "../funnel-hints.ts";
import { FAILURE_LIMIT_DEFAULTS, FailureLimiter } from "../postback/failure-limiter.ts";
import { readVisit } from "../visit-context.ts";
import { takeAction } from "./action.ts";
import { readVisitorCookie } from "./cookie.ts";
import { takeEntrance } from "./entrance.ts";
import { queryRecord } from "./entry-params.ts";
import { actionParams, entranceParams, parseParams } from "./params.ts";
import type { ClickRequest, ClickResult, ClickServices } from "./record.ts";

declare module "fastify" {
  interface FastifyInstance {
    /** The click routes' in-memory funnels and traffic sources (tests look at its stats). */
    funnelCache: FunnelCache;
  }
}

/** Entrance links (`/fts/{funnelId}`) and action links (`/action/{n}`): every answer is a 302. */
export async function registerClickRoutes(app: FastifyInstance, deps: TrackerDeps): Promise<void> {
  const hints = new PubSubFunnelHints(deps.redis, deps.prefix, deps.logger);
  app.addHook("onClose", () => hints.close());
  // Listening before serving, so a save answered after start-up has reached this tracker; bounded,
  // since a tracker must start while Redis is away too (the version poll covers until it is back).
  await Promise.race([hints.listening, new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
  const services: ClickServices = {
    deps,
    funnels: new FunnelCache(deps.db.db, deps.logger, {}, undefined, {
      breaker: deps.breaker,
      snapshot: deps.snapshot,
      hints,
    }),
  };
  app.decorate("funnelCache", services.funnels);
  // Scanners probing random funnel IDs or replaying broken links get 429 after enough failures from
  // one IP; visitors following good links are never counted.
  const limiter = new FailureLimiter(
    deps.redis,
    deps.prefix,
    deps.logger,
    FAILURE_LIMIT_DEFAULTS,
    "click-fail",
  );
  // Route hooks, not app-wide ones that look at the path: the click routes' own requests are the only
  // ones they are for (an app-wide hook ran on every postback and tag request too, and reading
  // request.routeOptions to tell them apart builds an object of a dozen fields each time).
  const refuseBlocked = async (request: FastifyRequest, reply: FastifyReply) => {
    const blockedMs = limiter.blockedForMs(`${request.workspace.workspaceId}:${request.ip}`);
    if (blockedMs === 0) return;
    const seconds = Math.ceil(blockedMs / 1000);
    request.log.info(
      { ip: request.ip, url: redactUrl(request.url) },
      "click refused: too many failing requests",
    );
    return reply
      .code(429)
      .header("retry-after", String(seconds))
      .send({ error: `too many failing requests from ${request.ip}; retry in ${seconds} s` });
  };
  const countFailure = async (
    request: FastifyRequest,
    _reply: FastifyReply,
    error: Error & { statusCode?: number },
  ) => {
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500 && request.workspace) {
      await limiter.recordFailure(`${request.workspace.workspaceId}:${request.ip}`);
    }
  };
  const hooks = { preHandler: refuseBlocked, onError: countFailure };

  // A HEAD (link checkers, ad-review bots, unfurlers) is answered without routing or recording
  // anything: only a real visit is a hit.
  const head = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.code(200).header("cache-control", "no-store").send();
  app.head("/fts/:funnelId", hooks, head);
  app.head("/action/:n", hooks, head);

  app.get("/fts/:funnelId", { exposeHeadRoute: false, ...hooks }, async (request, reply) => {
    const { funnelId } = parseParams(entranceParams, request.params);
    return redirect(reply, await takeEntrance(services, clickRequest(request), funnelId));
  });

  app.get("/action/:n", { exposeHeadRoute: false, ...hooks }, async (request, reply) => {
    const { n } = parseParams(actionParams, request.params);
    return redirect(reply, await takeAction(services, clickRequest(request), n));
  });
}

function clickRequest(request: FastifyRequest): ClickRequest {
  const h = request.headers;
  return {
    workspace: request.workspace,
    query: queryRecord(request.query),
    cookieVisitorId: readVisitorCookie(h.cookie),
    visit: readVisit({
      ip: request.ip,
      userAgent: h["user-agent"],
      acceptLanguage: h["accept-language"],
      referer: h.referer,
    }),
  };
}

function redirect(reply: FastifyReply, result: ClickResult): FastifyReply {
  return reply
    .code(302)
    .header("location", result.location)
    .header("set-cookie", result.setCookie)
    .header("cache-control", "no-store")
    .send();
}
