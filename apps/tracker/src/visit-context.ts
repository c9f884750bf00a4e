import { createRequire } from "node:module";
import { isbot } from "isbot";
import { UAParser } from "ua-parser-js";

// geoip-country ships no types and is CommonJS; this is the one function we use.
const geoip = createRequire(import.meta.url)("geoip-country") as {
  lookup: (ip: string) => { country?: string } | null;
};

/** What the tracker knows about a visit from the request alone (no database, no session). */
export interface Visit {
  ip: string | null;
  userAgent: string | null;
  /** "desktop", "mobile", "tablet", "smarttv", "console", "wearable", "xr" or "embedded". */
  device: string | null;
  os: string | null;
  browser: string | null;
  isBot: boolean;
  /** ISO 3166 alpha-2 from the offline GeoIP database; null for private or unknown addresses. */
  country: string | null;
  /** The most preferred Accept-Language tag, lower-case ("en-us"): condition rules read this. */
  languageTag: string | null;
  /** Its primary language subtag ("en"): what a hit stores. */
  language: string | null;
  referrer: string | null;
}

export interface VisitHeaders {
  ip: string | undefined;
  userAgent: string | undefined;
  acceptLanguage: string | undefined;
  referer: string | undefined;
}

export const MAX_USER_AGENT = 1024;
export const MAX_REFERRER = 2048;

interface ParsedAgent {
  device: string | null;
  os: string | null;
  browser: string | null;
  isBot: boolean;
}

/**
 * `read` with its results kept by key, up to `max` keys of at most `maxKeyLength` characters: real
 * traffic repeats the same few thousand headers. The map is dropped whole when full, which is
 * cheaper than an LRU and only costs a few re-reads.
 */
function kept<T>(max: number, maxKeyLength: number, read: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const value = read(key);
    if (key.length <= maxKeyLength) {
      if (cache.size >= max) cache.clear();
      cache.set(key, value);
    }
    return value;
  };
}

// Parsing a user agent costs tens of microseconds (callers cut it to MAX_USER_AGENT first).
export const parseUserAgent: (ua: string) => ParsedAgent = kept(20_000, Infinity, parseAgentUncached);

function parseAgentUncached(ua: string): ParsedAgent {
  // A visit with no user agent is a script, not a browser.
  if (ua === "") return { device: null, os: null, browser: null, isBot: true };
  const r = new UAParser(ua).getResult();
  return {
    // ua-parser-js leaves the type empty for desktops.
    device: r.device.type ?? "desktop",
    os: r.os.name ?? null,
    browser: r.browser.name ?? null,
    isBot: isbot(ua),
  };
}

export function countryOf(ip: string | null): string | null {
  if (ip === null) return null;
  try {
    return geoip.lookup(ip)?.country || null;
  } catch {
    return null;
  }
}

const LANGUAGE_TAG = /^[a-z]{1,8}(?:-[a-z0-9]{1,8})*$/;

/** The most preferred tag of an Accept-Language header (highest q, first on ties), lower-case. */
export function preferredLanguage(header: string | undefined): string | null {
  if (!header) return null;
  let best: string | null = null;
  let bestQ = 0;
  for (const part of header.slice(0, 512).split(",")) {
    const [rawTag, ...params] = part.split(";");
    const tag = (rawTag ?? "").trim().replace(/_/g, "-").toLowerCase();
    if (!LANGUAGE_TAG.test(tag)) continue; // also drops "*"
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    if (q > bestQ) {
      best = tag;
      bestQ = q;
    }
  }
  return best;
}

interface Languages {
  tag: string | null;
  primary: string | null;
}

// Browsers send one of a few hundred Accept-Language headers, and reading one (a split, a regular
// expression per tag) cost as much as the rest of the visit.
const NO_LANGUAGE: Languages = { tag: null, primary: null };
const readLanguages = kept(2_000, 256, (header): Languages => {
  const tag = preferredLanguage(header);
  return { tag, primary: tag === null ? null : (tag.split("-")[0] ?? null) };
});
const languagesOf = (header: string | undefined): Languages => (header ? readLanguages(header) : NO_LANGUAGE);

export function readVisit(h: VisitHeaders): Visit {
  const ua = (h.userAgent ?? "").slice(0, MAX_USER_AGENT);
  const agent = parseUserAgent(ua);
  const ip = h.ip && h.ip.length <= 64 ? h.ip : null;
  const languages = languagesOf(h.acceptLanguage);
  return {
    ip,
    userAgent: ua === "" ? null : ua,
    device: agent.device,
    os: agent.os,
    browser: agent.browser,
    isBot: agent.isBot,
    country: countryOf(ip),
    languageTag: languages.tag,
    language: languages.primary,
    referrer: h.referer ? h.referer.slice(0, MAX_REFERRER) : null,
  };
}
