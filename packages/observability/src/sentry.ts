import * as Sentry from "@sentry/node";
import { scrubSentryEvent } from "./scrub.ts";

let enabled = false;

/**
 * Sentry is on only when a DSN is configured; otherwise every call here is a no-op. No personal data
 * by default, and every event and breadcrumb goes through the scrubber before it leaves: auth
 * request bodies dropped, passwords, tokens, keys and secrets redacted (URLs included).
 */
export function initSentry(opts: { dsn: string | undefined; app: string; environment: string }): boolean {
  if (!opts.dsn) return false;
  Sentry.init({
    dsn: opts.dsn,
    environment: opts.environment,
    serverName: opts.app,
    tracesSampleRate: 0,
    sendDefaultPii: false,
    beforeSend: (event) => scrubSentryEvent(event),
    beforeBreadcrumb: (breadcrumb) => scrubSentryEvent(breadcrumb),
  });
  enabled = true;
  return true;
}

export function captureException(error: unknown, context?: Record<string, unknown>): void {
  if (!enabled) return;
  Sentry.captureException(error, context ? { extra: context } : undefined);
}

export async function flushSentry(timeoutMs = 2_000): Promise<void> {
  if (enabled) await Sentry.flush(timeoutMs);
}
