import { Agent, request } from "node:http";

export interface Sample {
  /** When the request was sent (ms since the load started). */
  at: number;
  ms: number;
  status: number;
  location: string | null;
  body: string;
}

export interface LoadTarget {
  port: number;
  host: string;
  /** The path of the n-th request (0-based), or null to skip this slot. */
  path: (n: number) => string | null;
  /** Called with each answer, in the order answers arrive. */
  onAnswer?: (sample: Sample, n: number) => void;
}

/**
 * An open-loop load: `rate` requests per second whatever the server's speed (a closed loop would
 * slow down with a stalled server and hide the stall). Bounded by `stop()`; every request has a
 * 5 s deadline and counts as status 0 when it gets no answer.
 */
export class OpenLoad {
  readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sent = 0;
  private inflight = 0;
  private readonly started = Date.now();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private idle: (() => void) | null = null;

  constructor(
    private readonly target: LoadTarget,
    private readonly rate: number,
  ) {}

  get elapsed(): number {
    return Date.now() - this.started;
  }

  start(): this {
    this.timer = setInterval(() => {
      const due = Math.floor((this.elapsed / 1000) * this.rate);
      while (this.sent < due) this.fire(this.sent++);
    }, 5);
    return this;
  }

  private fire(n: number): void {
    const path = this.target.path(n);
    if (path === null) return;
    const at = this.elapsed;
    const t0 = performance.now();
    this.inflight++;
    const done = (status: number, location: string | null, body: string) => {
      const sample = { at, ms: performance.now() - t0, status, location, body };
      this.samples.push(sample);
      this.target.onAnswer?.(sample, n);
      if (--this.inflight === 0) this.idle?.();
    };
    const req = request(
      {
        host: "127.0.0.1",
        port: this.target.port,
        path,
        agent: this.agent,
        headers: { host: this.target.host },
        timeout: 5_000,
      },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => {
          if (body.length < 2_000) body += String(d);
        });
        res.on("end", () =>
          done(res.statusCode ?? 0, (res.headers.location as string | undefined) ?? null, body),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => done(0, null, ""));
    req.end();
  }

  /** Stops sending and waits for the answers still in flight. */
  async stop(): Promise<Sample[]> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    this.agent.destroy();
    return this.samples;
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** Counts, share of `status` and latency percentiles of the samples sent within [from, to) ms. */
export function summarize(samples: Sample[], status: number, from = 0, to = Number.POSITIVE_INFINITY) {
  const window = samples.filter((s) => s.at >= from && s.at < to);
  const ok = window.filter((s) => s.status === status);
  const ms = window.map((s) => s.ms);
  return {
    requests: window.length,
    ok: ok.length,
    share: window.length === 0 ? 1 : ok.length / window.length,
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
    max: Math.max(0, ...ms),
    statuses: window.reduce<Record<number, number>>((acc, s) => {
      acc[s.status] = (acc[s.status] ?? 0) + 1;
      return acc;
    }, {}),
  };
}
