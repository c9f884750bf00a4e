import * as Sentry from "@sentry/node";
import { redactUrl } from "./redact-url.ts";

let enabled = false;

/** Sentry is on only when a DSN is configured; otherwise every call here is a no-op. */
export function initSentry(opts: { dsn: string | undefined; app: string; environment: string }): boolean {
  if (!opts.dsn) return false;
  Sentry.init({
    dsn: opts.dsn,
    environment: opts.environment,
    serverName: opts.app,
    tracesSampleRate: 0,
  });
  enabled = true;
  return true;
}

export function captureException(error: unknown, context?: Record<string, unknown>): void {
  if (!enabled) return;
  // A request's URL may carry a postback secret (`?key=`): Sentry gets it redacted.
  const extra = context && "url" in context ? { ...context, url: redactUrl(context.url) } : context;
  Sentry.captureException(error, extra ? { extra } : undefined);
}

export async function flushSentry(timeoutMs = 2_000): Promise<void> {
  if (enabled) await Sentry.flush(timeoutMs);
}
