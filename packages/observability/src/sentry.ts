import { redactUrl } from "./redact-url.ts";
import { scrubSentryEvent } from "./scrub.ts";

type SentrySdk = typeof import("@sentry/node");

/** The SDK, once initialised; null without a DSN. */
let sentry: SentrySdk | null = null;

/**
 * Sentry is on only when a DSN is configured; otherwise every call here is a no-op. No personal data
 * collected (the `sendDefaultPii: false` of older SDKs), and every event and breadcrumb goes through the scrubber before it leaves: auth
 * request bodies dropped, passwords, tokens, keys and secrets redacted (URLs included). The SDK is
 * imported only when a DSN is set: it pulls in OpenTelemetry and its instrumentations, memory that
 * every process without a DSN would carry for nothing.
 */
export async function initSentry(opts: {
  dsn: string | undefined;
  app: string;
  environment: string;
}): Promise<boolean> {
  if (!opts.dsn) return false;
  const Sentry = await import("@sentry/node");
  Sentry.init({
    dsn: opts.dsn,
    environment: opts.environment,
    serverName: opts.app,
    tracesSampleRate: 0,
    // What Sentry <9 called sendDefaultPii: false. No user fields, no cookies, no HTTP bodies at all
    // (a sign-up's body is its password), no credential headers.
    dataCollection: {
      userInfo: false,
      cookies: false,
      httpBodies: [],
      httpHeaders: { request: { deny: ["authorization", "cookie", "x-api-key"] }, response: false },
    },
    beforeSend: (event) => scrubSentryEvent(event),
    beforeBreadcrumb: (breadcrumb) => scrubSentryEvent(breadcrumb),
  });
  sentry = Sentry;
  return true;
}

export function captureException(error: unknown, context?: Record<string, unknown>): void {
  if (!sentry) return;
  // A request's URL may carry a postback secret (`?key=`): Sentry gets it redacted.
  const extra = context && "url" in context ? { ...context, url: redactUrl(context.url) } : context;
  sentry.captureException(error, extra ? { extra } : undefined);
}

export async function flushSentry(timeoutMs = 2_000): Promise<void> {
  if (sentry) await sentry.flush(timeoutMs);
}
