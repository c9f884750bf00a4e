import { resolveTxt } from "node:dns/promises";
import type { Env } from "@hitrail/config";

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

async function fetchToken(url: string): Promise<{ status: number; body: string }> {
  // No redirects: the token must be served by the host being verified, not by wherever it points.
  const res = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(5_000) });
  const reader = res.body?.getReader();
  let body = "";
  if (reader) {
    const decoder = new TextDecoder();
    // A hostile host could stream forever; the token is short, so a few bytes are enough.
    while (body.length < MAX_TOKEN_BODY) {
      const { done, value } = await reader.read();
      if (done) break;
      body += decoder.decode(value, { stream: true });
    }
    await reader.cancel().catch(() => {});
  }
  return { status: res.status, body: body.slice(0, MAX_TOKEN_BODY) };
}

export const defaultDomainChecks: DomainChecks = { resolveTxt, fetchToken };
