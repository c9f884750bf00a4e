/**
 * Group commit: entries queue for a moment and leave in batches, each committed as one unit by the
 * writer's `commit`, at most `maxInFlight` at once. Under load batches grow instead of round trips
 * multiplying. Shared by the hit writer and the conversion writer; what a batch does is theirs.
 */
export interface GroupCommitOptions {
  /** Entries per batch. */
  maxBatch: number;
  /**
   * How long the first entry of a batch waits for company. 0 flushes on the next turn of the event
   * loop: under load batches still form, because entries queue while every slot is busy.
   */
  waitMs: number;
  /** Batches in flight at once; beyond that, entries queue up and batches grow instead. */
  maxInFlight: number;
}

export class GroupCommit<E> {
  private queue: E[] = [];
  private readonly inFlightKeys = new Set<string>();
  private inFlight = 0;
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly idle = new Set<() => void>();

  constructor(
    private readonly opts: GroupCommitOptions,
    /** Commits one batch; never rejects (a writer settles its entries itself). */
    private readonly commit: (batch: E[]) => Promise<void>,
    /**
     * Entries with the same key never travel in two batches at once: a later one waits for the batch
     * holding its key, so entries of one key commit in arrival order.
     */
    private readonly keyOf: (entry: E) => string | null = () => null,
  ) {}

  add(entry: E): void {
    this.queue.push(entry);
    this.schedule();
  }

  private schedule(): void {
    if (this.inFlight >= this.opts.maxInFlight) return; // a finishing batch picks the queue up
    if (this.queue.length >= this.opts.maxBatch) {
      this.flush();
      return;
    }
    if (this.opts.waitMs > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = null;
        this.flush();
      }, this.opts.waitMs);
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.inFlight < this.opts.maxInFlight) {
      const batch = this.take();
      if (batch.length === 0) break;
      this.run(batch);
    }
  }

  /** The next batch: oldest first, skipping (and keeping in order) entries whose key is in flight. */
  private take(): E[] {
    if (this.inFlightKeys.size === 0) return this.queue.splice(0, this.opts.maxBatch);
    const batch: E[] = [];
    const rest: E[] = [];
    for (const entry of this.queue) {
      const key = this.keyOf(entry);
      if (batch.length >= this.opts.maxBatch || (key !== null && this.inFlightKeys.has(key)))
        rest.push(entry);
      else batch.push(entry);
    }
    this.queue = rest;
    return batch;
  }

  private run(batch: E[]): void {
    this.inFlight++;
    const keys = new Set<string>();
    for (const entry of batch) {
      const key = this.keyOf(entry);
      if (key !== null) keys.add(key);
    }
    for (const key of keys) this.inFlightKeys.add(key);
    this.commit(batch).finally(() => {
      for (const key of keys) this.inFlightKeys.delete(key);
      this.inFlight--;
      // Entries queued meanwhile have waited a whole commit already: no further window for them.
      if (this.queue.length > 0) this.flush();
      else if (this.inFlight === 0) for (const done of this.idle) done();
    });
  }

  /** Flushes what is queued and waits until every batch is committed (graceful shutdown). */
  async drain(): Promise<void> {
    this.flush();
    if (this.inFlight === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.idle.delete(done);
        resolve();
      };
      this.idle.add(done);
    });
  }
}
