/**
 * A loop the worker runs beside its queues (the outbox relay, the rollup sweeps): `start` runs
 * `run` until `stop`, which lets the pass in progress finish and cuts the sleep between passes short.
 */
export abstract class BackgroundLoop {
  protected stopping = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  /** Passes until `this.stopping`, sleeping between them with `this.sleep`. */
  protected abstract run(): Promise<void>;

  start(): void {
    this.stopping = false;
    this.loop ??= this.run().finally(() => {
      this.loop = null;
    });
  }

  /** Lets the pass in progress commit (or roll back), then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
  }

  /** Waits `ms`, or until `stop` is called. */
  protected sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}
