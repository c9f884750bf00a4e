export { describeStartupError, exitOnStartupError } from "./fatal.ts";
export { guardProcess, isTransientError, type ProcessGuardOptions } from "./guard.ts";
export { Lifecycle } from "./lifecycle.ts";
export { createLogger, type Logger } from "./logger.ts";
export { redactUrl, SECRET_PARAMS } from "./redact-url.ts";
export { runApp } from "./run-app.ts";
export { REDACTED, SENSITIVE_NAME, scrub, scrubError, scrubSentryEvent, scrubString } from "./scrub.ts";
export { captureException, flushSentry, initSentry } from "./sentry.ts";
