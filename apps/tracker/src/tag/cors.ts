import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * The tag calls the tracking domain from the user's pages (any origin) with credentials, so the
 * origin is echoed, never `*`: a wildcard makes browsers drop the answer of a credentialed request.
 * Vary keeps a shared cache from handing one origin's answer to another.
 */
export function allowOrigin(request: FastifyRequest, reply: FastifyReply): void {
  reply.header("vary", "Origin");
  const origin = request.headers.origin;
  if (typeof origin !== "string" || origin === "") return;
  reply.header("access-control-allow-origin", origin);
  reply.header("access-control-allow-credentials", "true");
}

/** The preflight a page's own `fetch` with a JSON content type triggers (the tag avoids one). */
export function preflight(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  allowOrigin(request, reply);
  return reply
    .code(204)
    .header("access-control-allow-methods", "POST")
    .header("access-control-allow-headers", "content-type")
    .header("access-control-max-age", "600")
    .send();
}
