import { count, eq, inArray, schema } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { TrackerHarness } from "./harness.ts";
import { act, enter, location, visitorCookieOf } from "./support/clicks.ts";
import { createCutOffHarness } from "./support/cut-off.ts";
import type { TcpProxy } from "./support/tcp-proxy.ts";

let h: TrackerHarness;
let proxy: TcpProxy;
beforeAll(async () => {
  ({ h, proxy } = await createCutOffHarness());
});
afterAll(async () => {
  await h?.close();
  await proxy?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Postgres outage", () => {
  it("keeps redirecting while Postgres is cut off, then lands every spooled hit exactly once", async () => {
    const { workspaceId, host, kit } = await h.tenant();
    // Warm: the workspace, funnel and traffic source are in memory before the cut.
    const first = await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId } });
    const vid = visitorCookieOf(first);
    const landerHit = String(location(first).searchParams.get("hit"));
    const hitIds = [landerHit];

    // Clicks keep coming, 8 at a time (one visitor clicking action links from the session, the rest
    // arriving on entrance links), while the connection is cut mid-run and later restored.
    let running = true;
    const statuses: number[] = [];
    // One visitor's session keeps its last 200 hits: the action clicks stay well under that, so the
    // lander hit they name is always found in the session (a hit it no longer holds is looked up in
    // PostgreSQL, which is what this test cuts off).
    let actions = 0;
    const visitor = async (n: number) => {
      while (running) {
        const res =
          n === 0 && actions++ < 100
            ? // Paced, so they span the cut rather than all landing before it.
              await sleep(30).then(() => act(h, host, 1, { query: { hit: landerHit, vid } }))
            : await enter(h, host, kit.funnelId, { query: { ts: kit.trafficSourceId, external: `x${n}` } });
        statuses.push(res.statusCode);
        if (res.statusCode === 302) {
          const url = location(res);
          hitIds.push(String(url.searchParams.get("hit") ?? url.searchParams.get("clickid")));
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, (_, n) => visitor(n)));
    await sleep(300);
    const beforeCut = h.deps.hits.stats.committed;
    proxy.cut();
    await vi.waitFor(() => expect(h.deps.hits.stats.spooled).toBeGreaterThan(50), {
      timeout: 10_000,
      interval: 50,
    });
    expect(await h.deps.hits.spoolLength()).toBeGreaterThan(0);
    await sleep(500);
    proxy.restore();
    await sleep(500);
    running = false;
    await load;

    expect(beforeCut).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 302)).toEqual([]);
    expect(proxy.stats.refused).toBeGreaterThan(0);
    await vi.waitFor(async () => expect(await h.deps.hits.spoolLength()).toBe(0), {
      timeout: 10_000,
      interval: 100,
    });
    expect(h.deps.hits.stats.replayed).toBeGreaterThan(0);

    // Read directly, not through the proxy: every 302 has its hit, once.
    expect(new Set(hitIds).size).toBe(hitIds.length);
    const [total] = await h.t.db
      .select({ n: count() })
      .from(schema.hits)
      .where(eq(schema.hits.workspaceId, workspaceId));
    expect(Number(total?.n)).toBe(hitIds.length);
    const found = await h.t.db
      .select({ id: schema.hits.id })
      .from(schema.hits)
      .where(inArray(schema.hits.id, hitIds));
    expect(found).toHaveLength(hitIds.length);
  }, 60_000);
});
