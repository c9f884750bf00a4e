import type { FastifyReply } from "fastify";
import type { ApiSettings } from "../settings.ts";

export const SESSION_COOKIE = "hitrail_session";

/**
 * HTTP-only so page scripts cannot read it, SameSite=Lax so another site cannot make the browser
 * send it with a cross-site POST (tRPC mutations), Secure whenever the public scheme is https.
 */
export function setSessionCookie(reply: FastifyReply, settings: ApiSettings, token: string, expiresAt: Date) {
  reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    secure: settings.publicScheme === "https",
    sameSite: "lax",
    path: "/",
    expires: expiresAt,
  });
}

export function clearSessionCookie(reply: FastifyReply, settings: ApiSettings) {
  reply.clearCookie(SESSION_COOKIE, {
    httpOnly: true,
    secure: settings.publicScheme === "https",
    sameSite: "lax",
    path: "/",
  });
}
