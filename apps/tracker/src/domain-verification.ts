import { pendingClaimToken } from "@hitrail/db";
import type { FastifyInstance } from "fastify";
import type { TrackerDeps } from "./deps.ts";
import { WorkspaceResolver } from "./workspace-resolver.ts";

export const WELL_KNOWN_PREFIX = "/.well-known/hitrail/";

/**
 * HTTP domain verification: a custom domain pointed at Hitrail before it is verified (so before it
 * is routed or gets a certificate) proves ownership by serving its token here, which the api's
 * verify procedure fetches. Only the token of that very host is served, and only while it is the
 * host's one claim (with rival claims the tracker cannot tell whose host it is: DNS TXT decides);
 * anything else is the same bare 404 as an unknown host, so the endpoint tells nobody which domains
 * or tokens exist.
 */
export async function registerDomainVerification(app: FastifyInstance, deps: TrackerDeps): Promise<void> {
  app.get<{ Params: { token: string } }>(`${WELL_KNOWN_PREFIX}:token`, async (request, reply) => {
    const host = WorkspaceResolver.normalizeHost(request.headers.host);
    const token = request.params.token;
    const notFound = () => reply.code(404).type("text/plain").send("Not Found");
    if (!host || !/^[A-Za-z0-9_-]{8,128}$/.test(token)) return notFound();
    const served = await pendingClaimToken(deps.db.db, { host, token });
    if (!served) {
      request.log.info({ host }, "domain verification: no single pending claim of this host with this token");
      return notFound();
    }
    return reply.header("cache-control", "no-store").type("text/plain").send(served);
  });
}
