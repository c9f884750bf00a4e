/** The tracker's visitor cookie: lets an action link or a later entrance find the visitor's session. */
export const VISITOR_COOKIE = "hrvid";

const VALUE = /^[0-9a-fA-F-]{32,36}$/;

/** The visitor ID in a Cookie header, or null; values that are not IDs are ignored. */
export function readVisitorCookie(header: string | undefined): string | null {
  if (!header) return null;
  // A hand-rolled scan: a full cookie parser would cost more than everything else on this path.
  let from = 0;
  for (;;) {
    const at = header.indexOf(`${VISITOR_COOKIE}=`, from);
    if (at === -1) return null;
    const before = at === 0 ? "" : header.slice(0, at).trimEnd();
    if (at === 0 || before.endsWith(";")) {
      const start = at + VISITOR_COOKIE.length + 1;
      const end = header.indexOf(";", start);
      const value = header.slice(start, end === -1 ? undefined : end).trim();
      return VALUE.test(value) ? value : null;
    }
    from = at + 1;
  }
}

/**
 * Set-Cookie for the visitor: lives as long as the session and slides with it. A tracking domain
 * served over https sends it cross-site (SameSite=None needs Secure) so it survives the hop from
 * an ad network; plain http can only be Lax.
 */
export function visitorCookie(visitorId: string, ttlSeconds: number, scheme: "http" | "https"): string {
  const site = scheme === "https" ? "SameSite=None; Secure" : "SameSite=Lax";
  return `${VISITOR_COOKIE}=${visitorId}; Path=/; Max-Age=${ttlSeconds}; HttpOnly; ${site}`;
}
