import { DEFAULT_VISITOR_ID_PARAM } from "@hitrail/core";
import type { HostWorkspace, LoadedFunnel, PageInfo } from "@hitrail/db";
import type { Logger } from "@hitrail/observability";
import type { Redis } from "@hitrail/queue";
import type { TrafficSourceParams } from "./click/entry-params.ts";

/** How long an entry outlives its last refresh: long enough for any outage, short enough to fade. */
const TTL_SECONDS = 14 * 86_400;

type Kind = "host" | "funnel" | "ts";

interface StoredFunnel {
  graph: LoadedFunnel["graph"];
  version: number;
  pages: Array<[string, PageInfo]>;
}

/**
 * The routing objects every tracker has loaded (hosts → workspaces, funnels with their pages,
 * traffic sources), kept in Redis as the latest copy any tracker saw. A tracker that starts, or
 * meets an object for the first time, while PostgreSQL is down routes from it; nothing is read from
 * here while the database answers. Each key is its own Redis string so one object's refresh never
 * rewrites another's, and each expires on its own.
 */
export class RoutingSnapshot {
  private warnedAt = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  private key(kind: Kind, id: string): string {
    return `${this.prefix}:routing:${kind}:${id}`;
  }

  /** Fire and forget: a snapshot that cannot be written costs nothing but a (rate-limited) line. */
  private put(kind: Kind, id: string, value: unknown): void {
    this.redis.set(this.key(kind, id), JSON.stringify(value), "EX", TTL_SECONDS).catch((error: unknown) => {
      const now = Date.now();
      if (now - this.warnedAt < 60_000) return;
      this.warnedAt = now;
      this.logger.warn({ err: (error as Error).message }, "routing snapshot not written");
    });
  }

  private async get<T>(kind: Kind, id: string): Promise<T | undefined> {
    const text = await this.redis.get(this.key(kind, id));
    return text === null ? undefined : (JSON.parse(text) as T);
  }

  putHost(host: string, workspace: HostWorkspace | null): void {
    // Only hosts that route: "unknown" is never worth remembering through an outage.
    if (workspace !== null) this.put("host", host, workspace);
  }

  async host(host: string): Promise<HostWorkspace | undefined> {
    const stored = await this.get<Partial<HostWorkspace>>("host", host);
    // A snapshot written by a tracker older than the setting: the seed's default name.
    return stored && ({ visitorIdParam: DEFAULT_VISITOR_ID_PARAM, ...stored } as HostWorkspace);
  }

  putFunnel(workspaceId: string, funnel: LoadedFunnel): void {
    const stored: StoredFunnel = { graph: funnel.graph, version: funnel.version, pages: [...funnel.pages] };
    this.put("funnel", `${workspaceId}:${funnel.graph.id}`, stored);
  }

  async funnel(workspaceId: string, funnelId: string): Promise<LoadedFunnel | undefined> {
    const stored = await this.get<StoredFunnel>("funnel", `${workspaceId}:${funnelId}`);
    // Pages written before the per-offer opt-out existed pass the visitor ID, the default.
    const pages = stored?.pages.map(([id, p]): [string, PageInfo] => [
      id,
      { ...p, passVisitorId: p.passVisitorId ?? true },
    ]);
    return stored && pages && { graph: stored.graph, version: stored.version, pages: new Map(pages) };
  }

  putTrafficSource(workspaceId: string, source: TrafficSourceParams): void {
    this.put("ts", `${workspaceId}:${source.id}`, source);
  }

  trafficSource(workspaceId: string, id: string): Promise<TrafficSourceParams | undefined> {
    return this.get<TrafficSourceParams>("ts", `${workspaceId}:${id}`);
  }
}
