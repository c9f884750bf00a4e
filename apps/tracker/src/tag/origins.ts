import { normalizeAllowedOrigin, templateHost } from "@hitrail/core";
import { type Executor, findTagOriginSources } from "@hitrail/db";
import type { Logger } from "@hitrail/observability";
import type { HostWorkspace } from "../workspace-resolver.ts";

/**
 * The hosts whose pages may use a workspace's tag with credentials and send its conversions: its
 * landers' and offers' hosts, its tracking domains, and the list in its settings. Cached briefly
 * per workspace, like the host → workspace lookup: a new lander may take `ttlMs` to be allowed.
 */
export class TagOrigins {
  private readonly cache = new Map<string, { hosts: Set<string>; expires: number }>();
  private readonly inflight = new Map<string, Promise<Set<string>>>();

  constructor(
    private readonly db: Executor,
    private readonly logger: Logger,
    private readonly ttlMs = 10_000,
    private readonly maxEntries = 10_000,
  ) {}

  async hosts(workspace: Pick<HostWorkspace, "workspaceId" | "tag">): Promise<Set<string>> {
    const listed = workspace.tag.allowedOrigins
      .map((entry) => normalizeAllowedOrigin(entry))
      .filter((h): h is string => h !== null);
    const own = await this.ownHosts(workspace.workspaceId);
    return listed.length === 0 ? own : new Set([...own, ...listed]);
  }

  private async ownHosts(workspaceId: string): Promise<Set<string>> {
    const cached = this.cache.get(workspaceId);
    if (cached && cached.expires > Date.now()) return cached.hosts;
    let lookup = this.inflight.get(workspaceId);
    if (!lookup) {
      lookup = findTagOriginSources(this.db, workspaceId)
        .then(({ pageUrls, trackingHosts }) => {
          const hosts = new Set(trackingHosts.map((h) => h.toLowerCase()));
          for (const url of pageUrls) {
            const host = templateHost(url);
            if (host !== null) hosts.add(host);
          }
          if (this.cache.size >= this.maxEntries) this.cache.clear();
          this.cache.set(workspaceId, { hosts, expires: Date.now() + this.ttlMs });
          return hosts;
        })
        .finally(() => this.inflight.delete(workspaceId));
      this.inflight.set(workspaceId, lookup);
    }
    try {
      return await lookup;
    } catch (error) {
      // The database is away: the last known hosts, else none (credentials are never echoed blind).
      this.logger.warn({ err: (error as Error).message, workspaceId }, "tag origins could not be read");
      return cached?.hosts ?? new Set();
    }
  }

  invalidate(): void {
    this.cache.clear();
  }
}
