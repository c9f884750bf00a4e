import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { MAX_SESSION_HITS } from "@hitrail/core";
import { createRedis, type Redis } from "@hitrail/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionStore } from "../src/sessions.ts";

// The session store's scripts, run in the batch of their turn of the event loop, on a redis-server
// of this file's own: flushing its script cache (as a Redis restart does) must not lose a read or a
// write, and a read in the same turn as a write sees it.

let dir: string;
let server: ChildProcess;
let redis: Redis;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "hitrail-session-redis-"));
  const port = await freePort();
  server = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir],
    {
      stdio: ["ignore", "pipe", "ignore"],
    },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("redis-server did not start within 10 s")), 10_000);
    server.stdout?.on("data", (chunk: Buffer) => {
      if (String(chunk).includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  server.stdout?.resume();
  redis = createRedis(`redis://127.0.0.1:${port}`);
});

afterAll(async () => {
  await redis?.quit();
  server?.kill("SIGTERM");
  await rm(dir, { recursive: true, force: true });
});

const WORKSPACE = "01900000-0000-7000-8000-000000000001";
const TTL = 4 * 86_400;
const entry = {
  trafficSourceId: null,
  externalId: "ext-1",
  campaign: "c1",
  cost: null,
  fields: { zone: "z1" },
};
const hit = (n: number, at: number) => ({
  hitId: `01900000-0000-7000-8000-00000000010${n}`,
  nodeId: "01900000-0000-7000-8000-000000000201",
  pageId: "01900000-0000-7000-8000-000000000301",
  pageKind: "offer" as const,
  funnelId: "01900000-0000-7000-8000-000000000401",
  at,
});

describe("the session store's scripts", () => {
  it("reads what was written in the same turn, and keeps reading and writing after Redis forgets its scripts", async () => {
    const store = new SessionStore(redis, "t");
    const visitor = "01900000-0000-7000-8000-000000000501";
    const now = Date.now();
    // A write and a read issued in one turn go in one pipeline, the write first.
    const [, read] = await Promise.all([
      store.recordHit({
        workspaceId: WORKSPACE,
        visitorId: visitor,
        ttlSeconds: TTL,
        hit: hit(1, now),
        entry,
        now,
      }),
      store.get(WORKSPACE, visitor, TTL),
    ]);
    expect(read).toMatchObject({
      visitorId: visitor,
      entry,
      hits: [hit(1, now)],
      createdAt: now,
      lastSeenAt: now,
    });

    // As after a restart: the server no longer knows the scripts; each call loads its own again.
    await redis.script("FLUSH");
    expect(await store.get(WORKSPACE, visitor, TTL)).toMatchObject({ hits: [hit(1, now)] });
    await redis.script("FLUSH");
    await store.recordHit({
      workspaceId: WORKSPACE,
      visitorId: visitor,
      ttlSeconds: TTL,
      hit: hit(2, now + 1),
      now: now + 1,
    });
    const after = await store.get(WORKSPACE, visitor, TTL);
    expect(after?.hits).toEqual([hit(1, now), hit(2, now + 1)]);
    expect(after?.lastSeenAt).toBe(now + 1);

    // The journey keeps its last MAX_SESSION_HITS hits: a bot looping a funnel cannot grow it.
    const looping = "01900000-0000-7000-8000-000000000502";
    await Promise.all(
      Array.from({ length: MAX_SESSION_HITS + 2 }, (_, i) =>
        store.recordHit({
          workspaceId: WORKSPACE,
          visitorId: looping,
          ttlSeconds: TTL,
          hit: { ...hit(1, now), at: now + i },
          ...(i === 0 ? { entry } : {}),
          now: now + i,
        }),
      ),
    );
    const loop = await store.get(WORKSPACE, looping, TTL);
    expect(loop?.hits).toHaveLength(MAX_SESSION_HITS);
    expect(loop?.hits[0]?.at).toBe(now + 2);
    expect(loop).toMatchObject({ createdAt: now, lastSeenAt: now + MAX_SESSION_HITS + 1, entry });

    // A read slides the lifetime; a visitor never seen reads as no session.
    await redis.expire(`t:v:${WORKSPACE}:${visitor}`, 10);
    await store.get(WORKSPACE, visitor, TTL);
    expect(await store.ttl(WORKSPACE, visitor)).toBeGreaterThan(TTL - 5);
    expect(await store.get(WORKSPACE, "01900000-0000-7000-8000-000000000599", TTL)).toBeNull();
  });

  it("writes the sessions of many visitors clicking in one turn, each its own, also after Redis forgets its scripts", async () => {
    const store = new SessionStore(redis, "t");
    const now = Date.now();
    // More clicks than one script call takes: the turn's writes go as several calls, each loading the
    // script again after the flush.
    const visitors = Array.from(
      { length: 150 },
      (_, i) => `01900000-0000-7000-8000-${String(700_000 + i).padStart(12, "0")}`,
    );
    await redis.script("FLUSH");
    await Promise.all(
      visitors.map((visitorId, i) =>
        store.recordHit({
          workspaceId: WORKSPACE,
          visitorId,
          ttlSeconds: TTL - i,
          hit: { ...hit(1, now), at: now + i },
          // Every other one an action click on no session: it records the hit, not an entry.
          ...(i % 2 === 0 ? { entry: { ...entry, externalId: `ext-${i}` } } : {}),
          now: now + i,
        }),
      ),
    );
    for (const [i, visitorId] of visitors.entries()) {
      const key = `t:v:${WORKSPACE}:${visitorId}`;
      expect(await redis.hgetall(key)).toEqual(
        i % 2 === 0
          ? {
              entry: JSON.stringify({ ...entry, externalId: `ext-${i}` }),
              createdAt: String(now + i),
              lastSeenAt: String(now + i),
            }
          : { lastSeenAt: String(now + i) },
      );
      expect(await redis.lrange(`${key}:h`, 0, -1)).toEqual([
        JSON.stringify({ ...hit(1, now), at: now + i }),
      ]);
      expect(await redis.ttl(`${key}:h`)).toBeLessThanOrEqual(TTL - i);
      expect(await redis.ttl(`${key}:h`)).toBeGreaterThan(TTL - i - 5);
    }
  });
});
