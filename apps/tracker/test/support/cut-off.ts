import { inject } from "vitest";
import { createTrackerHarness, type TrackerHarness } from "../harness.ts";
import { TcpProxy } from "./tcp-proxy.ts";

/**
 * A tracker whose PostgreSQL connections pass through a proxy the test can cut and restore: an
 * outage of the shared server without touching it. Host routing is cached as in production, long
 * enough to outlast the outage; the spool replays quickly.
 */
export async function createCutOffHarness(): Promise<{ h: TrackerHarness; proxy: TcpProxy }> {
  const server = new URL(inject("hitrailDb").adminUrl);
  const proxy = new TcpProxy(server.hostname, Number(server.port || 5432));
  await proxy.listen();
  const h = await createTrackerHarness({
    dbUrl: (url) => proxy.rewrite(url),
    workspaceCacheMs: 60_000,
    writer: { replayIntervalMs: 50, retryAfterMs: 200, commitTimeoutMs: 1_000 },
  });
  return { h, proxy };
}
