import { resolveTxt } from "node:dns/promises";
import type { LookupFunction } from "node:net";
import type { Env } from "@hitrail/config";
import { createGuardedAgents, fetchText } from "@hitrail/outbound";

export type SignupMode = "open" | "invite" | "first";

/** What the dashboard API needs from the environment; tests build it directly. */
export interface ApiSettings {
  /** Scheme of tracking links and of the session cookie's `Secure` flag. */
  publicScheme: "http" | "https";
  /** Port of tracking links (PUBLIC_PORT); null: none. See core's trackingOrigin. */
  publicPort: number | null;
  /** Default tracking domains are `{slug}.{baseDomain}`. */
  baseDomain: string;
  /** open: anyone; invite: invitation links only; first: the first account openly, then invitations. */
  signup: SignupMode;
  /** Workspaces one account may create. */
  maxWorkspacesPerAccount: number;
  /** Lifetime of a dashboard session cookie. */
  sessionTtlSeconds: number;
  /** Failed sign-ins per account, and auth attempts per client address, per window. */
  signInLimits: { perAccount: number; perAddress: number; windowSeconds: number };
  /** On-demand TLS asks per requester per minute. */
  tlsAskPerMinute: number;
  /** Public URL of the dashboard (links in emails); null: links are relative, the dashboard completes them. */
  dashboardUrl: string | null;
  /** SMTP for invitation emails; null: the api returns the link for the admin to send. */
  mail: { smtpUrl: string; from: string } | null;
  /** Whether X-Forwarded-For is trusted from anyone (behind a proxy) or only from loopback. */
  trustProxy: boolean;
}

export const DEFAULT_SETTINGS: ApiSettings = {
  publicScheme: "http",
  publicPort: null,
  baseDomain: "localhost",
  signup: "first",
  maxWorkspacesPerAccount: 10,
  sessionTtlSeconds: 30 * 86_400,
  signInLimits: { perAccount: 5, perAddress: 30, windowSeconds: 900 },
  tlsAskPerMinute: 60,
  dashboardUrl: null,
  mail: null,
  trustProxy: false,
};

export function settingsFromEnv(env: Env): ApiSettings {
  return {
    publicScheme: env.PUBLIC_SCHEME,
    publicPort: env.PUBLIC_PORT ?? null,
    baseDomain: env.BASE_DOMAIN,
    signup: env.SIGNUP,
    maxWorkspacesPerAccount: env.MAX_WORKSPACES_PER_ACCOUNT,
    sessionTtlSeconds: env.API_SESSION_TTL_SECONDS,
    signInLimits: {
      perAccount: env.SIGNIN_MAX_PER_ACCOUNT,
      perAddress: env.SIGNIN_MAX_PER_ADDRESS,
      windowSeconds: env.SIGNIN_WINDOW_SECONDS,
    },
    tlsAskPerMinute: env.TLS_ASK_MAX_PER_MINUTE,
    dashboardUrl: env.DASHBOARD_URL?.replace(/\/+$/, "") ?? null,
    mail: env.SMTP_URL ? { smtpUrl: env.SMTP_URL, from: env.SMTP_FROM } : null,
    trustProxy: env.TRUST_PROXY,
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
