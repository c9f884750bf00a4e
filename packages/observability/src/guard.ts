import type { Logger } from "pino";

/**
 * Error codes of a dependency going away (a socket reset, PostgreSQL shutting down, Redis gone):
 * the process's own state is intact, the dependency will come back, and every request path already
 * copes with it. Such an error escaping to the top is logged and the process keeps serving.
 */
const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
]);

const TRANSIENT_MESSAGES =
  /Connection is closed|MaxRetriesPerRequestError|Reached the max retries|Stream isn't writeable/i;

export function isTransientError(error: unknown): boolean {
  const e = (error ?? {}) as { code?: unknown; cause?: unknown; message?: unknown; name?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  if (TRANSIENT_CODES.has(code) || code.startsWith("08")) return true;
  if (typeof e.message === "string" && TRANSIENT_MESSAGES.test(e.message)) return true;
  if (typeof e.name === "string" && TRANSIENT_MESSAGES.test(e.name)) return true;
  return e.cause !== undefined && e.cause !== error && isTransientError(e.cause);
}

export interface ProcessGuardOptions {
  app: string;
  /** Runs when an unknown error escaped: the process's state can no longer be trusted. */
  onFatal: (error: unknown) => Promise<void> | void;
  /** Same-kind lines within this window are counted, not repeated. */
  quietMs?: number;
}

/**
 * The last line of defence of every app. An error that escaped every handler is logged (and, with a
 * DSN, reported by Sentry's own integration, which stays registered and does not exit while this
 * handler is). A dependency's outage keeps the process serving; anything else is a bug that may
 * have left state half-changed, so the app shuts down gracefully and exits non-zero for its
 * supervisor (pnpm start, Kubernetes, compose) to restart it. Unhandled rejections never corrupt
 * state: they are logged and the process keeps serving.
 */
export function guardProcess(logger: Logger, opts: ProcessGuardOptions): () => void {
  const quietMs = opts.quietMs ?? 10_000;
  const lastLogged = new Map<string, { at: number; suppressed: number }>();
  let fatal = false;

  const note = (kind: string, error: unknown, level: "warn" | "error") => {
    const e = (error ?? {}) as { code?: unknown; message?: unknown };
    const key = `${kind}:${String(e.code ?? "")}:${String(e.message ?? "").slice(0, 80)}`;
    const now = Date.now();
    const seen = lastLogged.get(key);
    if (seen && now - seen.at < quietMs) {
      seen.suppressed++;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    lastLogged.set(key, { at: now, suppressed: 0 });
    if (lastLogged.size > 1_000) lastLogged.clear();
    logger[level](
      { app: opts.app, err: error, ...(suppressed > 0 ? { repeatedSinceLastLine: suppressed } : {}) },
      kind === "exception"
        ? "uncaught exception from a dependency outage; still serving"
        : "unhandled promise rejection; still serving",
    );
  };

  const onException = (error: unknown) => {
    if (isTransientError(error)) {
      note("exception", error, "warn");
      return;
    }
    logger.fatal({ app: opts.app, err: error }, "uncaught exception: shutting down to be restarted");
    if (fatal) return;
    fatal = true;
    Promise.resolve()
      .then(() => opts.onFatal(error))
      .catch(() => undefined)
      .finally(() => process.exit(1));
  };
  const onRejection = (reason: unknown) =>
    note("rejection", reason, isTransientError(reason) ? "warn" : "error");

  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);
  return () => {
    process.off("uncaughtException", onException);
    process.off("unhandledRejection", onRejection);
  };
}
