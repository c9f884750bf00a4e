import { redactUrl } from "@hitrail/observability";
import { buildTag, tagFor } from "@hitrail/tag";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { readVisitorCookie } from "../click/cookie.ts";
import { ClickError } from "../click/errors.ts";
import type { ClickRequest, ClickServices } from "../click/record.ts";
import { conversionRecorderFor } from "../conversions/index.ts";
import type { TrackerDeps } from "../deps.ts";
import { postbackAnswer } from "../postback/receive-postback.ts";
import { readVisit } from "../visit-context.ts";
import { tagBody, text } from "./body.ts";
import { allowOrigin, preflight } from "./cors.ts";
import { TagOrigins } from "./origins.ts";
import { track } from "./track.ts";
import { recordView } from "./view.ts";

const TAG_CACHE = "public, max-age=300, stale-while-revalidate=86400";

/** Whether an If-None-Match header names this ETag (a list, weak forms and `*` included). */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((t) => {
    const tag = t.trim();
    return tag === "*" || tag === etag || tag === `W/${etag}`;
  });
}

/**
 * The universal tag on every tracking domain: `GET /tag.js` serves it, `POST /js/view` records the
 * page view it reports, `POST /js/track` its `flux.track` calls. Bodies are JSON sent as text/plain
 * (a "simple" request, so browsers skip the preflight).
 */
export async function registerTagRoutes(app: FastifyInstance, deps: TrackerDeps): Promise<void> {
  // The click routes' cache: a page view reads the same funnels a redirect does.
  const services: ClickServices = { deps, funnels: app.funnelCache };
  const recorder = conversionRecorderFor(deps);
  const origins = new TagOrigins(deps.db.db, deps.logger);
  const tag = buildTag();
  // Built in the background at start; a failure shows in the log now and as a 503 on request.
  tag.catch((error: unknown) => deps.logger.error({ err: error }, "the tag could not be built"));

  // One build; each workspace is served it with its visitor-ID parameter written in.
  const served = new Map<string, ReturnType<typeof tagFor>>();
  app.get("/tag.js", async (request, reply) => {
    const built = await tag;
    const name = request.workspace.visitorIdParam;
    let one = served.get(name);
    if (one === undefined) {
      one = tagFor(built, name);
      if (served.size > 100) served.clear();
      served.set(name, one);
    }
    const { code, etag } = one;
    reply.header("etag", etag).header("cache-control", TAG_CACHE);
    if (matches(request.headers["if-none-match"], etag)) return reply.code(304).send();
    return reply.type("application/javascript; charset=utf-8").send(code);
  });

  await app.register(async (scope) => {
    for (const type of ["text/plain", "application/json"]) {
      scope.removeContentTypeParser(type);
      scope.addContentTypeParser(type, { parseAs: "string" }, (_request, body, done) => {
        try {
          done(null, JSON.parse(String(body)));
        } catch {
          done(new ClickError(400, "the body is not valid JSON"), undefined);
        }
      });
    }
    // Every answer, errors included, carries the CORS headers: without them the page's console
    // shows a CORS failure instead of our message.
    // Only to the workspace's own origins (see cors.ts): any other page gets no CORS headers.
    scope.addHook("onRequest", async (request, reply) => {
      if (request.method !== "OPTIONS") await allowOrigin(origins, request, reply);
    });

    scope.options("/js/view", async (request, reply) => preflight(origins, request, reply));
    scope.options("/js/track", async (request, reply) => preflight(origins, request, reply));

    scope.post("/js/view", async (request, reply) => {
      const body = tagBody(request.body);
      const result = await recordView(services, { req: viewRequest(request, body), body });
      const { setCookie, ...answer } = result;
      return reply.header("set-cookie", setCookie).header("cache-control", "no-store").send(answer);
    });

    scope.post("/js/track", async (request, reply) => {
      const result = await track(deps, recorder, {
        workspace: request.workspace,
        ip: request.ip,
        body: tagBody(request.body),
        cookieVisitorId: readVisitorCookie(request.headers.cookie),
        origin: typeof request.headers.origin === "string" ? request.headers.origin : null,
        allowedHosts: await origins.hosts(request.workspace),
        receivedAt: deps.now(),
      });
      if (!result.ok) {
        request.log.info(
          {
            ip: request.ip,
            url: redactUrl(request.url),
            origin: request.headers.origin,
            status: result.httpStatus,
            error: result.error,
          },
          "tag event rejected",
        );
      }
      return send(reply, result.httpStatus, postbackAnswer(result));
    });
  });
}

function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header("cache-control", "no-store").send(body);
}

/** The view as a click: the page's URL gives the query, the page's referrer is the visit's. */
function viewRequest(request: FastifyRequest, body: Record<string, unknown>): ClickRequest {
  const h = request.headers;
  const url = safeText(body, "url");
  const query: Record<string, string> = Object.create(null);
  if (url !== null) {
    try {
      for (const [name, value] of new URL(url).searchParams)
        if (!Object.hasOwn(query, name)) query[name] = value;
    } catch {
      // An unreadable page URL leaves the query empty; the view itself is still worth recording.
    }
  }
  return {
    workspace: request.workspace,
    query,
    cookieVisitorId: readVisitorCookie(h.cookie),
    visit: readVisit({
      ip: request.ip,
      userAgent: h["user-agent"],
      acceptLanguage: h["accept-language"],
      referer: safeText(body, "referrer") ?? undefined,
    }),
  };
}

function safeText(body: Record<string, unknown>, name: string): string | null {
  try {
    return text(body, name, 2048);
  } catch {
    return null;
  }
}
