export { describeStartupError, exitOnStartupError } from "./fatal.ts";
export { guardProcess, isTransientError, type ProcessGuardOptions } from "./guard.ts";
export { Lifecycle } from "./lifecycle.ts";
export { createLogger, type Logger } from "./logger.ts";
export { REDACTED, redactUrl, SECRET_PARAMS } from "./redact-url.ts";
export { captureException, flushSentry, initSentry } from "./sentry.ts";
