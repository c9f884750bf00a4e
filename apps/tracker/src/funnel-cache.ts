import {
  type Executor,
  findTrafficSource,
  funnelVersions,
  type LoadedFunnel,
  loadFunnel,
  withWorkspace,
} from "@hitrail/db";
import type { Logger } from "@hitrail/observability";
import type { TrafficSourceParams } from "./click/entry-params.ts";
import { type DbBreaker, isOutage } from "./db-breaker.ts";
import type { FunnelVersionHints } from "./funnel-hints.ts";
import type { RoutingSnapshot } from "./routing-snapshot.ts";

export interface FunnelCacheOptions {
  /** How often a workspace's funnel versions are compared with the database (a save bumps them). */
  versionCheckMs: number;
  /**
   * Loaded objects are re-read at least this often: page URLs, the workspace time zone and traffic
   * source parameters change without bumping a funnel version.
   */
  maxAgeMs: number;
  /** How long "no such funnel or traffic source" is believed before the database is asked again. */
  negativeMs: number;
  /** Cached objects across all workspaces; the cache starts over when it would grow past this. */
  maxEntries: number;
  /** How long a click waits for an object it has never loaded before the snapshot answers. */
  loadDeadlineMs: number;
}

const DEFAULTS: FunnelCacheOptions = {
  versionCheckMs: 1_000,
  maxAgeMs: 30_000,
  negativeMs: 2_000,
  maxEntries: 50_000,
  loadDeadlineMs: 1_000,
};

/** Where the cache falls back while PostgreSQL is down (both optional: tests may run without). */
export interface FunnelCacheFallback {
  breaker?: DbBreaker;
  snapshot?: RoutingSnapshot;
  /** The versions saves announced (in memory), checked per click so a saved funnel routes at once. */
  hints?: FunnelVersionHints;
}

interface Slot<T> {
  /** undefined until the first load finished; null when the database has no such object. */
  value: T | null | undefined;
  loadedAt: number;
  loading: Promise<T | null> | null;
  load: () => Promise<T | null>;
  /** The newest saved version a hint already made this slot reload for (funnels only). */
  hinted?: number;
}

interface WorkspaceSlots {
  id: string;
  funnels: Map<string, Slot<LoadedFunnel>>;
  trafficSources: Map<string, Slot<TrafficSourceParams>>;
  versionsCheckedAt: number;
  checking: boolean;
}

/**
 * The funnels and traffic sources the tracker routes with, per workspace, served from memory so a
 * click never waits on the database once an object is warm. A save bumps `funnels.version`; each
 * workspace's versions are polled in the background at most every `versionCheckMs`, and changed
 * funnels are reloaded and swapped in without a restart. On top of that poll, a click on a cached
 * funnel checks the version a save announced (hints, taken in before the save answered) and waits
 * for the reload when it is newer: the click right after a save routes with it. If the database is away,
 * the last copy keeps serving; an object never loaded comes from the routing snapshot in Redis (the
 * latest copy any tracker saw), and no load or version check is tried while the breaker says the
 * database is down.
 */
export class FunnelCache {
  private readonly workspaces = new Map<string, WorkspaceSlots>();
  private entries = 0;
  private readonly opts: FunnelCacheOptions;
  readonly stats = { funnelLoads: 0, trafficSourceLoads: 0, versionChecks: 0, hintReloads: 0 };

  constructor(
    private readonly db: Executor,
    private readonly logger: Logger,
    opts: Partial<FunnelCacheOptions> = {},
    // Cache ages are wall-clock concerns, never the injected business clock tests move.
    private readonly clock: () => number = () => performance.now(),
    private readonly fallback: FunnelCacheFallback = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** The funnel as saved, or null when the workspace has no such funnel (or it has no entry yet). */
  funnel(workspaceId: string, funnelId: string): Promise<LoadedFunnel | null> | LoadedFunnel | null {
    const ws = this.workspace(workspaceId);
    this.checkVersions(ws);
    const slot = ws.funnels.get(funnelId);
    // A copy in memory may predate a save that answered a moment ago: the save's announcement, taken
    // in before the save answered, says so. Known in memory: no click waits on anything to learn it.
    if (slot !== undefined && slot.value !== undefined) {
      const latest = this.fallback.hints?.latest(ws.id, funnelId) ?? null;
      // An archived funnel loads as "none", so the version a hint was acted on is remembered too.
      const have = Math.max(slot.value?.version ?? -1, slot.hinted ?? -1);
      if (latest !== null && latest > have && !this.fallback.breaker?.isDown)
        return this.freshened(ws, funnelId, slot, latest);
    }
    return this.readFunnel(ws, funnelId);
  }

  private readFunnel(
    ws: WorkspaceSlots,
    funnelId: string,
  ): Promise<LoadedFunnel | null> | LoadedFunnel | null {
    const workspaceId = ws.id;
    const { snapshot } = this.fallback;
    return this.read(ws.funnels, funnelId, () =>
      this.guarded(
        async () => {
          this.stats.funnelLoads++;
          const funnel =
            (await withWorkspace(this.db, workspaceId, (tx) => loadFunnel(tx, workspaceId, funnelId))) ??
            null;
          if (funnel) snapshot?.putFunnel(workspaceId, funnel);
          return funnel;
        },
        async () => (await snapshot?.funnel(workspaceId, funnelId)) ?? null,
      ),
    );
  }

  /**
   * Reloads a cached funnel (or a cached "no such funnel") at once when a save committed a newer
   * version than the copy, and waits for it: the click after a save routes with the saved graph.
   * Should the reload fail, the copy keeps serving, exactly as without the hint.
   */
  private async freshened(
    ws: WorkspaceSlots,
    funnelId: string,
    slot: Slot<LoadedFunnel>,
    latest: number,
  ): Promise<LoadedFunnel | null> {
    slot.hinted = latest;
    this.stats.hintReloads++;
    try {
      let value = await this.reload(slot);
      // A refresh already under way may have read the graph before the save committed.
      if (value !== null && value.version < latest) {
        slot.loading = null;
        value = await this.reload(slot);
      }
      return value;
    } catch (error) {
      this.logger.warn(
        { err: (error as Error).message, workspaceId: ws.id, funnelId },
        "saved funnel not reloaded; serving the cached copy",
      );
      return slot.value ?? null;
    }
  }

  trafficSource(
    workspaceId: string,
    id: string,
  ): Promise<TrafficSourceParams | null> | TrafficSourceParams | null {
    const ws = this.workspace(workspaceId);
    const { snapshot } = this.fallback;
    return this.read(ws.trafficSources, id, () =>
      this.guarded(
        async () => {
          this.stats.trafficSourceLoads++;
          const row = await withWorkspace(this.db, workspaceId, (tx) =>
            findTrafficSource(tx, workspaceId, id),
          );
          // Archived sources stop routing (within maxAgeMs of the change, as parameter edits do).
          if (!row || row.archivedAt !== null) return null;
          const source: TrafficSourceParams = {
            id: row.id,
            externalParam: row.externalParam,
            campaignParam: row.campaignParam,
            costParam: row.costParam,
            trackingFields: Array.isArray(row.trackingFields) ? row.trackingFields : [],
          };
          snapshot?.putTrafficSource(workspaceId, source);
          return source;
        },
        async () => (await snapshot?.trafficSource(workspaceId, id)) ?? null,
      ),
    );
  }

  /**
   * A database load under the breaker's deadline. While the database is down (or the load fails as
   * an outage) the snapshot answers; "not in the snapshot either" is an outage, not a 404, so the
   * error is passed on and the next click tries again.
   */
  private async guarded<T>(
    load: () => Promise<T | null>,
    fromSnapshot: () => Promise<T | null>,
  ): Promise<T | null> {
    const { breaker } = this.fallback;
    if (!breaker) return load();
    try {
      return await breaker.call(load, this.opts.loadDeadlineMs);
    } catch (error) {
      if (!isOutage(error)) throw error;
      const copy = await fromSnapshot().catch(() => null);
      if (copy === null) throw error;
      return copy;
    }
  }

  clear(): void {
    this.workspaces.clear();
    this.entries = 0;
  }

  private workspace(workspaceId: string): WorkspaceSlots {
    // Bounded by starting over: simpler than an LRU, and only bots probing random IDs get it there.
    if (this.entries >= this.opts.maxEntries) this.clear();
    let ws = this.workspaces.get(workspaceId);
    if (ws === undefined) {
      ws = {
        id: workspaceId,
        funnels: new Map(),
        trafficSources: new Map(),
        versionsCheckedAt: this.clock(),
        checking: false,
      };
      this.workspaces.set(workspaceId, ws);
    }
    return ws;
  }

  // Returns the value itself when it is in memory, so the hot path allocates no promise.
  private read<T>(
    slots: Map<string, Slot<T>>,
    key: string,
    load: () => Promise<T | null>,
  ): Promise<T | null> | T | null {
    let slot = slots.get(key);
    if (slot === undefined) {
      slot = { value: undefined, loadedAt: 0, loading: null, load };
      slots.set(key, slot);
      this.entries++;
    }
    if (slot.value === undefined) return this.reload(slot);
    const age = this.clock() - slot.loadedAt;
    if (slot.value === null) {
      // Someone may just have created it: ask again, and wait for the answer.
      return age > this.opts.negativeMs ? this.reload(slot) : null;
    }
    if (age > this.opts.maxAgeMs) this.refreshInBackground(slot);
    return slot.value;
  }

  /** One load per slot at a time; every caller waiting meanwhile gets the same answer. */
  private reload<T>(slot: Slot<T>): Promise<T | null> {
    slot.loading ??= slot.load().then(
      (value) => {
        slot.value = value;
        slot.loadedAt = this.clock();
        slot.loading = null;
        return value;
      },
      (error: unknown) => {
        slot.loading = null;
        throw error;
      },
    );
    return slot.loading;
  }

  private refreshInBackground<T>(slot: Slot<T>): void {
    if (slot.loading || this.fallback.breaker?.isDown) return;
    this.reload(slot).catch((error: unknown) => {
      // Keep serving the copy we have; the next request past maxAge tries again.
      slot.loadedAt = this.clock();
      this.logger.warn(
        { err: (error as Error).message },
        "funnel cache refresh failed; serving the cached copy",
      );
    });
  }

  private checkVersions(ws: WorkspaceSlots): void {
    const now = this.clock();
    if (ws.checking || now - ws.versionsCheckedAt < this.opts.versionCheckMs) return;
    if (this.fallback.breaker?.isDown) return;
    ws.checking = true;
    ws.versionsCheckedAt = now;
    this.stats.versionChecks++;
    const check = () => withWorkspace(this.db, ws.id, (tx) => funnelVersions(tx, ws.id));
    (this.fallback.breaker ? this.fallback.breaker.call(check, 2_000) : check())
      .then((versions) => {
        for (const [id, slot] of ws.funnels) {
          if (slot.value === undefined) continue;
          const current = versions.get(id);
          const cached = slot.value === null ? undefined : slot.value.version;
          if (current !== cached) this.refreshInBackground(slot);
        }
      })
      .catch((error: unknown) => {
        this.logger.warn(
          { err: (error as Error).message, workspaceId: ws.id },
          "funnel version check failed",
        );
      })
      .finally(() => {
        ws.checking = false;
      });
  }
}
