import { resolveTxt } from "node:dns/promises";
import type { LookupFunction } from "node:net";
import type { Env } from "@hitrail/config";
import { createGuardedAgents, fetchText } from "@hitrail/outbound";

/** What the dashboard API needs from the environment; tests build it directly. */
export interface ApiSettings {
  /** Scheme of tracking links and of the session cookie's `Secure` flag. */
  publicScheme: "http" | "https";
  /** Default tracking domains are `{slug}.{baseDomain}`. */
  baseDomain: string;
  /** Whether anyone who reaches the dashboard may create an account. */
  signupOpen: boolean;
  /** Lifetime of a dashboard session cookie. */
  sessionTtlSeconds: number;
}

export const DEFAULT_SETTINGS: ApiSettings = {
  publicScheme: "http",
  baseDomain: "localhost",
  signupOpen: true,
  sessionTtlSeconds: 30 * 86_400,
};

export function settingsFromEnv(env: Env): ApiSettings {
  return {
    publicScheme: env.PUBLIC_SCHEME,
    baseDomain: env.BASE_DOMAIN,
    signupOpen: env.API_SIGNUP_OPEN,
    sessionTtlSeconds: env.API_SESSION_TTL_SECONDS,
  };
}

/**
 * The outside world a custom domain's ownership is checked against: DNS TXT records and the HTTP
 * token the tracker serves. Injected so tests do not depend on real DNS.
 */
export interface DomainChecks {
  resolveTxt: (name: string) => Promise<string[][]>;
  fetchToken: (url: string) => Promise<{ status: number; body: string }>;
}

const MAX_TOKEN_BODY = 1024;

/**
 * Real DNS, and HTTP through the same outbound guard as traffic-source postbacks: a custom domain
 * whose name resolves to a private, loopback or metadata address is refused, never fetched (its
 * answer would tell the caller what our internal network serves). `allowCidrs` is
 * OUTBOUND_ALLOW_CIDRS; `lookup` replaces DNS resolution in tests.
 */
export function createDomainChecks(opts: {
  allowCidrs: readonly string[];
  lookup?: LookupFunction;
}): DomainChecks {
  const agents = createGuardedAgents(opts.allowCidrs);
  return {
    resolveTxt,
    // No redirects: the token must be served by the host being verified, not by wherever it points.
    // A hostile host could stream forever; the token is short, so a few bytes are enough.
    fetchToken: (url) =>
      fetchText(url, {
        agents,
        timeoutMs: 5_000,
        maxBytes: MAX_TOKEN_BODY,
        ...(opts.lookup ? { lookup: opts.lookup } : {}),
      }),
  };
}

export const defaultDomainChecks: DomainChecks = createDomainChecks({ allowCidrs: [] });
