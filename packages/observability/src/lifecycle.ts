import type { Logger } from "pino";
import { flushSentry } from "./sentry.ts";

type Closer = { name: string; close: () => Promise<void> | void };

/**
 * Graceful shutdown: closers run in registration order (register "stop accepting" first, pools last),
 * each bounded by a deadline so a stuck dependency cannot keep the process alive forever.
 */
export class Lifecycle {
  private readonly closers: Closer[] = [];
  private shuttingDown: Promise<void> | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly deadlineMs = 15_000,
  ) {}

  onShutdown(name: string, close: Closer["close"]): void {
    this.closers.push({ name, close });
  }

  /** Moves a closer to the front: registered late, but must run first (stop serving before pools close). */
  prioritize(name: string): void {
    const i = this.closers.findIndex((c) => c.name === name);
    if (i > 0) this.closers.unshift(...this.closers.splice(i, 1));
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown !== null;
  }

  shutdown(reason: string): Promise<void> {
    this.shuttingDown ??= this.run(reason);
    return this.shuttingDown;
  }

  /** Installs SIGTERM/SIGINT handlers that shut down and exit. */
  handleSignals(exit: (code: number) => void = (code) => process.exit(code)): void {
    const onSignal = (signal: NodeJS.Signals) => {
      this.shutdown(signal).then(
        () => exit(0),
        () => exit(1),
      );
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  }

  private async run(reason: string): Promise<void> {
    this.logger.info({ reason }, "shutting down");
    for (const closer of this.closers) {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(closer.close),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`timed out after ${this.deadlineMs} ms`)),
              this.deadlineMs,
            );
          }),
        ]);
        this.logger.info({ step: closer.name, ms: Date.now() - started }, "closed");
      } catch (error) {
        this.logger.error({ step: closer.name, err: error }, "close failed");
      } finally {
        clearTimeout(timer);
      }
    }
    await flushSentry();
    this.logger.flush?.();
  }
}
