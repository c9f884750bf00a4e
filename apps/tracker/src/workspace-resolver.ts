import { type Executor, findWorkspaceByHost, type HostWorkspace } from "@hitrail/db";
import type { DbBreaker } from "./db-breaker.ts";
import type { RoutingSnapshot } from "./routing-snapshot.ts";

export type { HostWorkspace } from "@hitrail/db";

export interface WorkspaceResolverOptions {
  /**
   * An answer is fresh this long; after that it is still served while a refresh runs behind it.
   * 0 asks the database on every request and keeps the last answer only as the outage fallback.
   */
  ttlMs: number;
  maxEntries: number;
  /** How long a request waits for a host it has never seen before falling back to the snapshot. */
  lookupDeadlineMs: number;
}

const DEFAULTS: WorkspaceResolverOptions = { ttlMs: 10_000, maxEntries: 10_000, lookupDeadlineMs: 1_000 };

interface Entry {
  value: HostWorkspace | null;
  expires: number;
}

/**
 * Host header → workspace, every tracker request's first step. Answers come from memory; an expired
 * answer keeps being served while one background lookup per host refreshes it (stale-while-
 * revalidate), so no request ever waits on the database for a host it has seen. A host never seen
 * waits for its lookup up to a deadline; while PostgreSQL is down (the breaker is open) it is
 * answered from the routing snapshot in Redis, the latest copy any tracker saw. Domain changes
 * (a custom domain verified, a setting changed) take up to `ttlMs` plus one request to be seen.
 */
export class WorkspaceResolver {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<HostWorkspace | null>>();
  private readonly opts: WorkspaceResolverOptions;

  constructor(
    private readonly db: Executor,
    opts: Partial<WorkspaceResolverOptions> = {},
    private readonly breaker?: DbBreaker,
    private readonly snapshot?: RoutingSnapshot,
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** Lower-cases and strips the port; returns null for a header that is no host name. */
  static normalizeHost(header: string | undefined): string | null {
    if (!header) return null;
    let host = header.trim().toLowerCase();
    if (host.startsWith("[")) return null; // IP literals are never tracking domains
    const colon = host.indexOf(":");
    if (colon !== -1) host = host.slice(0, colon);
    if (host.endsWith(".")) host = host.slice(0, -1);
    return /^[a-z0-9.-]{1,253}$/.test(host) ? host : null;
  }

  async resolve(header: string | undefined): Promise<HostWorkspace | null> {
    const host = WorkspaceResolver.normalizeHost(header);
    if (!host) return null;
    const cached = this.cache.get(host);
    if (cached && this.opts.ttlMs > 0) {
      if (cached.expires <= Date.now() && !this.breaker?.isDown) {
        this.lookup(host).catch(() => undefined); // the stale answer serves meanwhile
      }
      return cached.value;
    }
    if (this.breaker?.isDown) return cached ? cached.value : this.fromSnapshot(host);
    try {
      return await this.lookup(host);
    } catch (error) {
      // Clicks must keep redirecting through a database outage: a stale answer beats a 503.
      if (cached) return cached.value;
      const fallback = await this.fromSnapshot(host).catch(() => null);
      if (fallback) return fallback;
      throw error;
    }
  }

  /** One lookup per host at a time: requests arriving meanwhile share it. */
  private lookup(host: string): Promise<HostWorkspace | null> {
    let lookup = this.inflight.get(host);
    if (!lookup) {
      const query = () => findWorkspaceByHost(this.db, host);
      lookup = (this.breaker ? this.breaker.call(query, this.opts.lookupDeadlineMs) : query())
        .then((row) => {
          const value = row ?? null;
          if (this.cache.size >= this.opts.maxEntries) this.cache.clear();
          this.cache.set(host, { value, expires: Date.now() + this.opts.ttlMs });
          this.snapshot?.putHost(host, value);
          return value;
        })
        .finally(() => this.inflight.delete(host));
      this.inflight.set(host, lookup);
    }
    return lookup;
  }

  private async fromSnapshot(host: string): Promise<HostWorkspace | null> {
    const value = (await this.snapshot?.host(host)) ?? null;
    // Remembered briefly, and as already expired: the first request after recovery refreshes it.
    if (value) this.cache.set(host, { value, expires: 0 });
    return value;
  }

  invalidate(): void {
    this.cache.clear();
  }
}
