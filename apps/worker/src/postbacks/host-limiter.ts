interface HostState {
  active: number;
  waiting: Array<(granted: boolean) => void>;
  /** Sends finished per millisecond, smoothed; 0 until measured. */
  rate: number;
  finished: number;
  windowStart: number;
  /** When the last job sent back to the queue for this host is due: the end of its line. */
  lineEndsAt: number;
}

const RATE_WINDOW_MS = 500;

/**
 * Per-destination concurrency in one worker process. A destination has at most `limit` requests in
 * flight and at most `maxWaiting` jobs waiting (briefly) for one of them; a job that finds the line
 * full, or waits longer than it may, goes back to the queue for a moment (see the postback
 * processor). A receiver that answers slowly, or not at all until the timeout, therefore holds at
 * most `limit + maxWaiting` of the worker's job slots, and every other destination keeps the rest.
 *
 * Jobs sent back are given places in a line (`deferral`) spaced by the rate the host is actually
 * served at, so a backlog of thousands for one receiver comes back about when slots free up instead
 * of cycling through the queue every second.
 */
export class HostLimiter {
  private readonly hosts = new Map<string, HostState>();

  constructor(
    readonly limit: number,
    readonly maxWaiting: number = limit,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError("host limit must be a positive integer");
  }

  /** A slot at once, or after waiting at most `waitMs`; false when none is to be had. */
  private state(host: string): HostState {
    let state = this.hosts.get(host);
    if (!state) {
      state = { active: 0, waiting: [], rate: 0, finished: 0, windowStart: Date.now(), lineEndsAt: 0 };
      this.hosts.set(host, state);
    }
    return state;
  }

  acquire(host: string, waitMs: number): Promise<boolean> {
    const state = this.state(host);
    if (state.active < this.limit) {
      state.active++;
      return Promise.resolve(true);
    }
    if (waitMs <= 0 || state.waiting.length >= this.maxWaiting) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = (granted: boolean) => {
        clearTimeout(timer);
        resolve(granted);
      };
      const timer = setTimeout(() => {
        const at = state.waiting.indexOf(waiter);
        if (at !== -1) state.waiting.splice(at, 1);
        resolve(false);
      }, waitMs);
      state.waiting.push(waiter);
    });
  }

  /** Hands the slot to the next waiter, or frees it. */
  release(host: string, nowMs = Date.now()): void {
    const state = this.hosts.get(host);
    if (!state) return;
    state.finished++;
    const elapsed = nowMs - state.windowStart;
    if (elapsed >= RATE_WINDOW_MS) {
      const measured = state.finished / elapsed;
      state.rate = state.rate === 0 ? measured : 0.7 * state.rate + 0.3 * measured;
      state.finished = 0;
      state.windowStart = nowMs;
    }
    const next = state.waiting.shift();
    if (next) {
      next(true);
      return;
    }
    state.active = Math.max(0, state.active - 1);
    if (state.active === 0 && state.lineEndsAt < nowMs) this.hosts.delete(host);
  }

  /**
   * When a job turned away now should come back: at the end of the host's line, each place
   * 1 / (measured rate) after the previous one, never sooner than `minDelayMs` nor later than
   * `maxDelayMs` from now.
   */
  deferral(host: string, nowMs: number, minDelayMs: number, maxDelayMs = 60_000): number {
    const state = this.state(host);
    // Until a rate is measured, assume every slot turns over once a second.
    const perMs = state.rate > 0 ? state.rate : this.limit / 1_000;
    const at = Math.min(Math.max(nowMs + minDelayMs, state.lineEndsAt), nowMs + maxDelayMs);
    state.lineEndsAt = at + 1 / perMs;
    return Math.round(at);
  }

  active(host: string): number {
    return this.hosts.get(host)?.active ?? 0;
  }

  /** True when a job for this host would be turned away right now (all slots taken, line full). */
  isFull(host: string): boolean {
    const state = this.hosts.get(host);
    return state !== undefined && state.active >= this.limit && state.waiting.length >= this.maxWaiting;
  }
}

/**
 * Remembers the destination of recent deliveries, so a job turned away because its host was busy
 * can be turned away again without reading its delivery from Postgres. Bounded; oldest out first.
 */
export class DestinationCache {
  private readonly entries = new Map<string, string>();

  constructor(private readonly max = 100_000) {}

  get(deliveryId: string): string | undefined {
    return this.entries.get(deliveryId);
  }

  set(deliveryId: string, host: string): void {
    this.entries.delete(deliveryId);
    this.entries.set(deliveryId, host);
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  delete(deliveryId: string): void {
    this.entries.delete(deliveryId);
  }
}

/** The limiter key of a URL: scheme, host and port, lower-case; null when it is not a URL we send to. */
export function destinationOf(url: string): string | null {
  if (!URL.canParse(url)) return null;
  const u = new URL(url);
  if (u.protocol !== "http:" && u.protocol !== "https:") return null;
  return `${u.protocol}//${u.host}`.toLowerCase();
}
