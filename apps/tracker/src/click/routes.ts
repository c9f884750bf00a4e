import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { TrackerDeps } from "../deps.ts";
import { FunnelCache } from "../funnel-cache.ts";
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
  const services: ClickServices = { deps, funnels: new FunnelCache(deps.db.db, deps.logger) };
  app.decorate("funnelCache", services.funnels);

  // A HEAD (link checkers, ad-review bots, unfurlers) is answered without routing or recording
  // anything: only a real visit is a hit.
  const head = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.code(200).header("cache-control", "no-store").send();
  app.head("/fts/:funnelId", head);
  app.head("/action/:n", head);

  app.get("/fts/:funnelId", { exposeHeadRoute: false }, async (request, reply) => {
    const { funnelId } = parseParams(entranceParams, request.params);
    return redirect(reply, await takeEntrance(services, clickRequest(request), funnelId));
  });

  app.get("/action/:n", { exposeHeadRoute: false }, async (request, reply) => {
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
