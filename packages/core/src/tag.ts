// What the browser tag may do. A tag call proves nothing about a sale: anyone holding a hit or
// visitor ID (their own click is enough) can send one, and the Origin header only binds honest
// browsers. So these rules limit what such a call can do — which pages may send it, whether it may
// name its own revenue, how many conversions one hit may collect — and the workspace decides them.

/** A workspace's tag-conversion settings, as stored. */
export interface TagConversionSettings {
  /** Browsers may record conversions and custom events with `flux.track` (seed: on). */
  enabled: boolean;
  /** Hosts allowed on top of the workspace's landers, offers and tracking domains (`*.example.com` too). */
  allowedOrigins: readonly string[];
  /** The browser may send `rev`; when off, the offer's (or event's) default is used. */
  revenueFromBrowser: boolean;
  /** Conversions a hit may collect through the tag; repeats of one (hit, event, tx) do not count. */
  perHitLimit: number;
}

export const DEFAULT_TAG_SETTINGS: TagConversionSettings = {
  enabled: true,
  allowedOrigins: [],
  revenueFromBrowser: true,
  perHitLimit: 10,
};

export const MAX_TAG_PER_HIT_LIMIT = 1000;

const HOST = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** The host of an http(s) Origin header ("https://shop.example:8443" → "shop.example"), else null. */
export function originHost(origin: string | null | undefined): string | null {
  if (origin === null || origin === undefined) return null;
  const m = /^https?:\/\/([^/?#@\s]+?)(?::\d{1,5})?\/?$/i.exec(origin.trim());
  const host = m?.[1]?.toLowerCase().replace(/\.$/, "") ?? null;
  return host !== null && HOST.test(host) ? host : null;
}

/**
 * One entry of the allowed list as the user typed it: a host, `*.host` for its subdomains, or an
 * origin (`https://shop.example`) reduced to its host. Null when it is none of these.
 */
export function normalizeAllowedOrigin(entry: string): string | null {
  const v = entry.trim().toLowerCase();
  if (v.startsWith("*.")) {
    const rest = v.slice(2);
    return HOST.test(rest) && rest.includes(".") ? `*.${rest}` : null;
  }
  if (/^https?:\/\//.test(v)) return originHost(v);
  const host = v.replace(/\.$/, "");
  return HOST.test(host) ? host : null;
}

/** The host of a page URL template (tokens are never in the host: see urlTemplateProblem). */
export function templateHost(template: string): string | null {
  const m = /^https?:\/\/(?:[^/?#\\@]*@)?([^/?#\\:]+)/i.exec(template.trim());
  const host = m?.[1]?.toLowerCase().replace(/\.$/, "") ?? null;
  return host !== null && HOST.test(host) ? host : null;
}

/** Whether a host is one of `allowed` (exact hosts, or `*.example.com` for any subdomain). */
export function hostAllowed(host: string, allowed: Iterable<string>): boolean {
  for (const entry of allowed) {
    if (entry === host) return true;
    if (entry.startsWith("*.") && host.endsWith(entry.slice(1))) return true;
  }
  return false;
}

export interface TagOriginInput {
  settings: TagConversionSettings;
  /** The workspace has a postback secret: conversions are meant to be proven. */
  hasPostbackSecret: boolean;
  /** The Origin header as sent, or null when there was none. */
  origin: string | null;
  /** Landers' and offers' hosts, tracking domains and the settings' list, normalized. */
  allowedHosts: Iterable<string>;
  /** The call carries a `rev`. */
  revenueSent: boolean;
}

export type TagOriginDecision =
  | { ok: true; useBrowserRevenue: boolean; notes: string[] }
  | { ok: false; httpStatus: 403; reason: string };

/**
 * May this tag call convert at all, and with whose revenue? A browser always sends Origin on a
 * cross-site POST, so a call with an Origin not on the list is refused. A call without one comes
 * from no browser (a script): as good as a postback without `key=`, so a workspace that set a
 * postback secret refuses it too.
 */
export function decideTagOrigin(input: TagOriginInput): TagOriginDecision {
  const { settings } = input;
  if (!settings.enabled) {
    return {
      ok: false,
      httpStatus: 403,
      reason: "tag conversions are turned off in this workspace: send a postback instead",
    };
  }
  if (input.origin !== null) {
    const host = originHost(input.origin);
    if (host === null || !hostAllowed(host, input.allowedHosts)) {
      const shown = input.origin.length > 100 ? `${input.origin.slice(0, 100)}…` : input.origin;
      return {
        ok: false,
        httpStatus: 403,
        reason: `origin '${shown}' may not send tag conversions: it is not a lander, offer or tracking domain of this workspace, nor on its list of allowed origins`,
      };
    }
  } else if (input.hasPostbackSecret) {
    return {
      ok: false,
      httpStatus: 403,
      reason:
        "a tag conversion without an Origin header is refused: this workspace has a postback secret, send a postback with key= instead",
    };
  }
  const notes: string[] = [];
  if (input.revenueSent && !settings.revenueFromBrowser) {
    notes.push("rev from the browser is ignored in this workspace: the default payout is used");
  }
  return { ok: true, useBrowserRevenue: settings.revenueFromBrowser, notes };
}

export interface TagLimitInput {
  /** Conversions (and custom events) the hit already has, deleted ones included. */
  conversionsOnHit: number;
  /** This call's (hit, event, tx) already exists: it updates, it does not add. */
  identityExists: boolean;
  limit: number;
}

/** Null when the call may go on; else why it may not (409: the hit has all it may have). */
export function tagLimitProblem(input: TagLimitInput): string | null {
  if (input.identityExists || input.conversionsOnHit < input.limit) return null;
  return `this hit already has ${input.conversionsOnHit} conversions; the tag may add at most ${input.limit} per hit`;
}
