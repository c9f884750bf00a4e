import type { Logger } from "@hitrail/observability";

/** A PostgreSQL call the breaker refused or gave up on: the caller serves its fallback. */
export class DatabaseUnavailable extends Error {
  readonly code = "DB_UNAVAILABLE";
  constructor(reason: string) {
    super(`PostgreSQL unavailable: ${reason}`);
  }
}

// SQLSTATE classes that mean "this statement is wrong", not "the database is away".
const STATEMENT_FAULT = /^(22|23|42|P0|40)/;

export function isOutage(error: unknown): boolean {
  if (error instanceof DatabaseUnavailable) return true;
  const e = (error ?? {}) as { code?: unknown; cause?: { code?: unknown } };
  const code = String(e.cause?.code ?? e.code ?? "");
  return code !== "" && !STATEMENT_FAULT.test(code);
}

export interface DbBreakerOptions {
  /** While open, how often the probe asks PostgreSQL whether it is back. */
  probeIntervalMs: number;
  /** How long the probe's `select 1` may take. */
  probeTimeoutMs: number;
}

const DEFAULTS: DbBreakerOptions = { probeIntervalMs: 500, probeTimeoutMs: 1_000 };

/**
 * The click path's circuit breaker for PostgreSQL. Every read on the path runs through `call` with a
 * deadline; the first outage-kind failure opens the breaker, and from then on callers go straight to
 * their fallback (the spool for writes, the last known copy for routing) instead of each waiting for
 * its own timeout. One probe at a time asks the database whether it is back and closes the breaker
 * when it answers. One log line when the database goes away and one when it is back.
 */
export class DbBreaker {
  private downSince: number | null = null;
  private lastReason = "";
  private probeTimer: NodeJS.Timeout | null = null;
  private readonly opts: DbBreakerOptions;
  private readonly listeners = new Set<() => void>();
  readonly stats = { opened: 0, refused: 0 };

  constructor(
    private readonly probe: () => PromiseLike<unknown>,
    private readonly logger: Logger,
    opts: Partial<DbBreakerOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  get isDown(): boolean {
    return this.downSince !== null;
  }

  /** Why the breaker is open, for /readyz. */
  get reason(): string | null {
    return this.downSince === null ? null : this.lastReason;
  }

  /** Runs a PostgreSQL call with a deadline; refuses at once while the database is known down. */
  async call<T>(fn: () => PromiseLike<T>, deadlineMs: number): Promise<T> {
    if (this.downSince !== null) {
      this.stats.refused++;
      throw new DatabaseUnavailable(this.lastReason);
    }
    try {
      return await withDeadline(fn(), deadlineMs);
    } catch (error) {
      if (isOutage(error)) this.open(error);
      throw error;
    }
  }

  /** Reports a failure seen outside `call` (the hit and conversion writers). */
  failed(error: unknown): void {
    if (isOutage(error)) this.open(error);
  }

  /** Reports a success seen outside `call`: the database answered, whatever the breaker thought. */
  succeeded(): void {
    if (this.downSince !== null) this.close();
  }

  /** Called each time the breaker closes (the spools replay then). */
  onRecovered(listener: () => void): void {
    this.listeners.add(listener);
  }

  private open(error: unknown): void {
    this.lastReason = describe(error);
    if (this.downSince !== null) return;
    this.downSince = Date.now();
    this.stats.opened++;
    this.logger.warn(
      { reason: this.lastReason },
      "PostgreSQL unreachable: clicks spool hits, postbacks are queued, routing serves the last known copy",
    );
    this.scheduleProbe();
  }

  private close(): void {
    const since = this.downSince ?? Date.now();
    this.downSince = null;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    this.logger.info({ downForMs: Date.now() - since }, "PostgreSQL is back");
    for (const listener of this.listeners) listener();
  }

  private scheduleProbe(): void {
    if (this.probeTimer || this.downSince === null) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      withDeadline(this.probe(), this.opts.probeTimeoutMs).then(
        () => this.succeeded(),
        (error: unknown) => {
          this.lastReason = describe(error);
          this.scheduleProbe();
        },
      );
    }, this.opts.probeIntervalMs);
    this.probeTimer.unref();
  }

  stop(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
  }
}

function describe(error: unknown): string {
  const e = (error ?? {}) as {
    code?: unknown;
    message?: unknown;
    cause?: { code?: unknown; message?: unknown };
  };
  const inner = e.cause ?? e;
  const code = inner.code ?? e.code;
  const message = String(inner.message ?? e.message ?? error).split("\n")[0] ?? "";
  return code === undefined ? message : `${String(code)}: ${message}`;
}

/** Rejects after `ms` with an outage error; the call itself may still finish later. */
export function withDeadline<T>(promise: PromiseLike<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DatabaseUnavailable(`no answer within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
