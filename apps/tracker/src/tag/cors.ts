import { hostAllowed, originHost } from "@hitrail/core";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { TagOrigins } from "./origins.ts";

/**
 * The tag calls the tracking domain from the workspace's pages with credentials (the visitor
 * cookie), so an allowed origin is echoed, never `*`. Any other origin gets no CORS headers: its
 * page cannot read the answer, which carries the visitor's vid, hit and tokens. Allowed: the hosts
 * of the workspace's landers and offers, its tracking domains and its settings' list.
 * Vary keeps a shared cache from handing one origin's answer to another.
 */
export async function allowOrigin(
  origins: TagOrigins,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<boolean> {
  reply.header("vary", "Origin");
  const origin = request.headers.origin;
  if (typeof origin !== "string" || origin === "") return true;
  const host = originHost(origin);
  if (host === null || !hostAllowed(host, await origins.hosts(request.workspace))) {
    request.log.info(
      { origin: origin.slice(0, 200), path: request.url.split("?")[0] },
      "tag API: origin not allowed, answered without CORS headers",
    );
    return false;
  }
  reply.header("access-control-allow-origin", origin);
  reply.header("access-control-allow-credentials", "true");
  return true;
}

/** The preflight a page's own `fetch` with a JSON content type triggers (the tag avoids one). */
export async function preflight(
  origins: TagOrigins,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const allowed = await allowOrigin(origins, request, reply);
  if (!allowed) {
    return reply.code(403).send({ error: "this origin may not call the tag API of this tracking domain" });
  }
  return reply
    .code(204)
    .header("access-control-allow-methods", "POST")
    .header("access-control-allow-headers", "content-type")
    .header("access-control-max-age", "600")
    .send();
}
