import { type Executor, findWorkspaceByHost, type HostWorkspace } from "@hitrail/db";

export type { HostWorkspace } from "@hitrail/db";

/**
 * Host header → workspace, cached briefly: every tracker request needs it, and domain changes
 * (a new custom domain verified, a setting changed) may take up to `ttlMs` to be seen.
 */
export class WorkspaceResolver {
  private readonly cache = new Map<string, { value: HostWorkspace | null; expires: number }>();
  private readonly inflight = new Map<string, Promise<HostWorkspace | null>>();

  constructor(
    private readonly db: Executor,
    private readonly ttlMs = 10_000,
    private readonly maxEntries = 10_000,
  ) {}

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
    const now = Date.now();
    const cached = this.cache.get(host);
    if (cached && cached.expires > now) return cached.value;
    // One lookup per host at a time: when an entry expires under load, the requests share it.
    let lookup = this.inflight.get(host);
    if (!lookup) {
      lookup = findWorkspaceByHost(this.db, host)
        .then((row) => {
          const value = row ?? null;
          if (this.cache.size >= this.maxEntries) this.cache.clear();
          this.cache.set(host, { value, expires: Date.now() + this.ttlMs });
          return value;
        })
        .finally(() => this.inflight.delete(host));
      this.inflight.set(host, lookup);
    }
    try {
      return await lookup;
    } catch (error) {
      // Clicks must keep redirecting through a database outage: a stale answer beats a 503.
      if (cached) return cached.value;
      throw error;
    }
  }

  invalidate(): void {
    this.cache.clear();
  }
}
