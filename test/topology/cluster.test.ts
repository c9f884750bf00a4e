import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { type AppRouter, buildApi, hashPassword } from "@hitrail/api";
import {
  conversionRollupDrift,
  createDb,
  type DbClient,
  insertAuthSession,
  insertMembership,
  insertUser,
  runMigrations,
} from "@hitrail/db";
import { factories } from "@hitrail/db/testing";
import {
  AppProcess,
  freePort,
  get,
  OpenLoad,
  type Sample,
  ScratchRedisCluster,
  sleep,
} from "@hitrail/faults";
import { createLogger } from "@hitrail/observability";
import { bullPrefix, createRedis, publishFunnelVersion, type Redis, redisServers } from "@hitrail/queue";
import { createTRPCClient, httpLink } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresReplicaPair, startPostgresReplicaPair } from "./support/postgres-replica.ts";

// Hitrail past one machine: a three-master Redis Cluster, a PostgreSQL primary with a streaming
// replica, two trackers and two workers as production processes (their main entry points, env
// only), and the dashboard API on primary + replica. Clicks and postbacks alternate between the
// trackers as a load balancer would send them; a local HTTP server is the traffic source that
// receives the outbound postbacks, so "sent once" is counted where it matters.

const PREFIX = "topo";
const root = fileURLToPath(new URL("../../", import.meta.url));

let cluster: ScratchRedisCluster;
let pg: PostgresReplicaPair;
let owner: DbClient;
let primary: DbClient;
let replica: DbClient;
let redis: Redis;
let receiver: Server;
/** Each outbound postback the traffic source received: its URL and its Idempotency-Key. */
const received: Array<{ url: string; key: string }> = [];
const trackers: AppProcess[] = [];
const workers: AppProcess[] = [];
let api: Awaited<ReturnType<typeof buildApi>> | null = null;
let apiBase: string;
let host: string;
let workspaceId: string;
let kit: Awaited<ReturnType<typeof factories.campaign>>;
const startedAt = new Date(Date.now() - 3_600_000);

const role = (user: string) => (url: string) => {
  const u = new URL(url);
  u.username = user;
  return u.toString();
};
const asApp = role("hitrail_app");
const asMaintainer = role("hitrail_maintainer");

beforeAll(async () => {
  const [c, p] = await Promise.all([ScratchRedisCluster.create({ masters: 3 }), startPostgresReplicaPair()]);
  cluster = c;
  pg = p;
  const admin = createDb(pg.primaryUrl(), { max: 1 });
  await admin.sql`create database hitrail`;
  await admin.close(1);
  const ownerUrl = pg.primaryUrl("hitrail");
  await runMigrations(ownerUrl, { app: asApp(ownerUrl), maintenance: asMaintainer(ownerUrl) });
  owner = createDb(ownerUrl, { max: 4 });
  primary = createDb(asApp(ownerUrl), { max: 4 });
  replica = createDb(asApp(pg.replicaUrl("hitrail")), { max: 4, connectTimeoutSeconds: 3 });

  receiver = createServer((req, res) => {
    received.push({ url: req.url ?? "", key: String(req.headers["idempotency-key"] ?? "") });
    res.writeHead(200).end("ok");
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const receiverPort = (receiver.address() as AddressInfo).port;

  const seeded = await factories.workspace(owner.db);
  host = seeded.host;
  workspaceId = seeded.workspace.id;
  kit = await factories.campaign(owner.db, workspaceId, {
    postbackUrl: `http://127.0.0.1:${receiverPort}/cb?hit={hit}&tx={tx}&payout={payout}`,
  });

  const env = (port: number): Record<string, string> => ({
    DATABASE_URL: asApp(ownerUrl),
    MAINTENANCE_DATABASE_URL: asMaintainer(ownerUrl),
    REDIS_URL: cluster.url,
    REDIS_PREFIX: PREFIX,
    HOST: "127.0.0.1",
    TRACKER_PORT: String(port),
    WORKER_PORT: String(port),
    BASE_DOMAIN: "test.localhost",
    OUTBOUND_ALLOW_CIDRS: "127.0.0.1/32",
    LOG_LEVEL: "warn",
  });
  for (let i = 0; i < 2; i++) {
    const tp = await freePort();
    trackers.push(new AppProcess("tracker", tp, env(tp)));
    const wp = await freePort();
    workers.push(new AppProcess("worker", wp, env(wp)));
  }
  redis = createRedis(cluster.url);
  redis.on("error", () => undefined);
  await Promise.all([...trackers, ...workers].map((app) => app.start(60_000)));

  api = await buildApi({
    db: primary,
    readDb: replica,
    maxReplicaLagSeconds: 3_600,
    replicaStateTtlMs: 0,
    logger: createLogger({ name: "api", level: "silent" }),
    redis,
    redisPrefix: PREFIX,
  });
  await api.listen({ host: "127.0.0.1", port: 0 });
  apiBase = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  await pg.caughtUp();
}, 240_000);

afterAll(async () => {
  // Everything this suite started goes, whichever step failed; each stop on its own.
  const quietly = (p: Promise<unknown> | undefined) => Promise.resolve(p).catch(() => undefined);
  await quietly(api?.close());
  await Promise.all([...trackers, ...workers].map((app) => quietly(app.stop())));
  await quietly(new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined))));
  redis?.disconnect();
  await quietly(primary?.close(1));
  await quietly(replica?.close(1));
  await quietly(owner?.close(1));
  await quietly(cluster?.destroy());
  await quietly(pg?.stop());
}, 90_000);

const entrance = (external: string) => `/fts/${kit.funnelId}?ts=${kit.trafficSourceId}&external=${external}`;

function param(location: string | undefined | string[], name: string): string {
  const value = new URL(String(location)).searchParams.get(name);
  if (!value) throw new Error(`no ${name} in ${String(location)}`);
  return value;
}

/** The outbound postbacks the receiver got, by conversion (`hit/tx`): payout and Idempotency-Key of each. */
function deliveries(from = 0): Map<string, Array<{ payout: number; key: string }>> {
  const byConversion = new Map<string, Array<{ payout: number; key: string }>>();
  for (const { url, key } of received.slice(from)) {
    const q = new URL(url, "http://x").searchParams;
    const at = `${q.get("hit")}/${q.get("tx")}`;
    byConversion.set(at, [...(byConversion.get(at) ?? []), { payout: Number(q.get("payout")), key }]);
  }
  return byConversion;
}

/** The apps' warnings and errors, for a failing assertion's message. */
function logsOf(): string {
  return [...trackers, ...workers]
    .map((app, i) => `--- ${app.name} ${i % 2}\n${app.output.split("\n").slice(-30).join("\n")}`)
    .join("\n");
}

/** What the database says about deliveries sent more than once. */
async function explain(keys: string[]): Promise<string> {
  const lines: string[] = [];
  for (const key of keys.slice(0, 4)) {
    const [hit, tx] = key.split("/");
    const rows = await owner.sql`
      select d.revision, d.status, d.attempts, d.created_at, d.delivered_at, c.revision as conversion_revision,
        (select count(*)::int from received_postbacks r where r.hit_id = c.hit_id and r.tx = c.tx) as received,
        (select json_agg(json_build_object('attempt', a.attempt, 'status', a.status_code, 'at', a.created_at))
           from delivery_attempts a where a.delivery_id = d.id) as attempts_log
      from conversions c join outbound_deliveries d on d.conversion_id = c.id
      where c.hit_id = ${hit ?? ""}::uuid and c.tx = ${tx ?? ""}`.catch((e: Error) => [{ error: e.message }]);
    lines.push(`${key}: ${JSON.stringify(rows)}`);
  }
  return lines.join("\n");
}

/** Polls `probe` until it says true; a string is why not yet, reported if the deadline passes. */
async function until(what: string, probe: () => Promise<true | string>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await probe().catch((error: unknown) => String(error));
    if (state === true) return;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms: ${state}`);
    await sleep(250);
  }
}

/** Waits until every conversion (`hit/tx`) in `expected` was delivered and the outbox and deliveries are done. */
async function drained(expected: Set<string>, timeoutMs: number): Promise<void> {
  await until(
    "every delivery sent, outbox and queues empty",
    async () => {
      const got = deliveries();
      const missing = [...expected].filter((k) => !got.has(k));
      const [{ n } = { n: 1 }] = await owner.sql<{ n: number }[]>`
        select count(*)::int as n from outbox where relayed_at is null`;
      const [{ open } = { open: 1 }] = await owner.sql<{ open: number }[]>`
        select count(*)::int as open from outbound_deliveries where status = 'pending'`;
      return missing.length === 0 && n === 0 && open === 0
        ? true
        : `${missing.length} not delivered (${missing.slice(0, 3).join(", ")}), ${n} outbox rows, ${open} pending deliveries`;
    },
    timeoutMs,
  );
}

async function rollupsMatchRawRows(timeoutMs: number): Promise<void> {
  const range = { workspaceId, from: startedAt, to: new Date(Date.now() + 3_600_000) };
  await until(
    "conversion rollups equal to a recompute from raw rows",
    async () => {
      const drift = await conversionRollupDrift(owner.db, range);
      return drift.length === 0 ? true : `${drift.length} rollup rows differ: ${JSON.stringify(drift[0])}`;
    },
    timeoutMs,
  );
}

describe("Hitrail on a Redis Cluster, a replica and two of each app", () => {
  it("spreads its keys over every master, with each queue's keys under one hash tag", async () => {
    for (let i = 0; i < 30; i++) {
      const answer = await get(trackers[i % 2]?.port ?? 0, entrance(`spread${i}`), host);
      expect(answer.status).toBe(302);
    }
    const perMaster = await Promise.all(redisServers(redis).map((server) => server.dbsize()));
    expect(perMaster).toHaveLength(3);
    // Visitor sessions carry their own hash tag: thirty visitors land on all three masters.
    for (const keys of perMaster) expect(keys).toBeGreaterThan(0);
    const queueKeys: string[] = [];
    for (const server of redisServers(redis)) {
      queueKeys.push(...(await server.keys(`*${PREFIX}*bull*`)), ...(await server.keys(`{${PREFIX}:q}*`)));
    }
    expect(queueKeys.length).toBeGreaterThan(0);
    for (const key of queueKeys) expect(key.startsWith(bullPrefix(PREFIX, true))).toBe(true);
  });

  it("announces a funnel save to both trackers through a shard channel, and waits for both", async () => {
    const answer = await publishFunnelVersion(
      redis,
      PREFIX,
      { workspaceId, funnelId: kit.funnelId, version: 1_000 },
      { ackWithinMs: 2_000 },
    );
    expect(answer).toEqual({ receivers: 2, acked: 2 });
  });

  it("has hitrail doctor check the cluster and each of its masters", () => {
    const result = spawnSync(`${root}node_modules/.bin/tsx`, ["apps/cli/src/main.ts", "doctor"], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: asApp(pg.primaryUrl("hitrail")),
        REDIS_URL: cluster.url,
        REDIS_PREFIX: PREFIX,
        LOG_LEVEL: "silent",
      },
    });
    const out = result.stdout + result.stderr;
    expect(out).toMatch(/^ok\s+redis\s+Redis Cluster, 3 masters, cluster_state ok$/m);
    // The suite's masters run without an append-only file: doctor names each one.
    for (const port of cluster.ports) {
      expect(out).toMatch(
        new RegExp(`^warn\\s+redis persistence\\s+master 127\\.0\\.0\\.1:${port}: .*appendonly no`, "m"),
      );
    }
    expect(out).toMatch(/^ok\s+hit spool\s+empty$/m);
  });

  it("converts a journey split over both trackers exactly once, tells the traffic source once, and keeps rollups exact", async () => {
    /** Conversion (`hit/tx`) → the payouts its one delivery may carry. */
    const expected = new Map<string, number[]>();
    const journeys = 16;
    for (let i = 0; i < journeys; i++) {
      const [a, b] = i % 2 === 0 ? [trackers[0], trackers[1]] : [trackers[1], trackers[0]];
      const entry = await get(a?.port ?? 0, entrance(`e2e${i}`), host);
      expect(entry.status).toBe(302);
      const landerHit = param(entry.headers.location, "hit");
      const vid = param(entry.headers.location, "vid");
      // The lander's action link, followed on the other tracker: the session is in the cluster.
      const action = await get(b?.port ?? 0, `/action/1?hit=${landerHit}&vid=${vid}`, host);
      expect(action.status).toBe(302);
      const offerHit = param(action.headers.location, "clickid");
      // Half by hit, half by visitor only (the most recent offer hit, read from the session).
      const rev = i + 1.25;
      const pb =
        i % 4 < 2 ? `/pb/?hit=${offerHit}&tx=e${i}&rev=${rev}` : `/pb/?vid=${vid}&tx=e${i}&rev=${rev}`;
      const answer = await get((i % 3 === 0 ? a : b)?.port ?? 0, pb, host);
      expect(answer.status, answer.body).toBe(200);
      expected.set(`${offerHit}/e${i}`, [rev]);
      if (i % 5 === 0) {
        // Delayed revenue: the same (hit, tx) again, at the other tracker: one conversion, updated.
        // The kit's traffic source takes no updates: its one delivery says the first revenue, or the
        // new one if it had not been attempted yet (docs/postback-delivery.md).
        const update = await get(
          (i % 3 === 0 ? b : a)?.port ?? 0,
          `/pb/?hit=${offerHit}&tx=e${i}&rev=9.75`,
          host,
        );
        expect(update.status, update.body).toBe(200);
        expected.set(`${offerHit}/e${i}`, [rev, 9.75]);
      }
    }
    await drained(new Set(expected.keys()), 60_000);
    await sleep(1_000); // a twin sent late would show now
    const got = deliveries();
    const e2e = [...got].filter(([k]) => /\/e\d+$/.test(k));
    expect(e2e.map(([k]) => k).sort()).toEqual([...expected.keys()].sort());
    // Nothing was killed here: every conversion was sent exactly once, with a revenue it had.
    const twice = e2e.filter(([, sent]) => sent.length > 1).map(([k]) => k);
    expect(twice, `${await explain(twice)}\n${logsOf()}`).toEqual([]);
    for (const [k, sent] of e2e) expect(expected.get(k), k).toContain(sent[0]?.payout);
    const rows = await owner.sql<{ tx: string; revenue: string }[]>`
      select tx, revenue::text from conversions where deleted_at is null and tx like 'e%' order by tx`;
    expect(rows).toHaveLength(journeys);
    for (const r of rows) {
      const i = Number(r.tx.slice(1));
      expect(Number(r.revenue)).toBe(i % 5 === 0 ? 9.75 : i + 1.25);
    }
    await rollupsMatchRawRows(30_000);
  });

  it("reads the user's own write through the API while the replica lags, from the replica otherwise", async () => {
    const user = await insertUser(owner.db, {
      email: `writer-${randomBytes(4).toString("hex")}@example.com`,
      name: null,
      passwordHash: await hashPassword("correct horse battery staple"),
    });
    await insertMembership(owner.db, { workspaceId, userId: user.id, role: "owner" });
    const token = randomBytes(32).toString("base64url");
    await insertAuthSession(owner.db, {
      userId: user.id,
      tokenHash: createHash("sha256").update(token).digest("hex"),
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    const trpc = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${apiBase}/trpc`, headers: { cookie: `hitrail_session=${token}` } })],
    });
    await pg.caughtUp();
    await pg.pauseReplay();
    try {
      await trpc.offers.create.mutate({
        workspaceId,
        name: "Saved on the cluster",
        url: "https://o.example/?c={hit}",
      });
      // The read-after position is a key in the cluster; the writer's list waits for it on the primary.
      const own = await trpc.offers.list.query({ workspaceId });
      expect(own.items.map((o) => o.name)).toContain("Saved on the cluster");
    } finally {
      await pg.resumeReplay();
    }
  });

  it("loses nothing acknowledged and sends nothing twice when one tracker and one worker are killed under load", async () => {
    const from = received.length;
    const hits: string[] = [];
    const acknowledgedHits = new Set<string>();
    const postbacks = new Map<number, { hit: string; tx: string; rev: string }>();
    const answered: Array<{ hit: string; tx: string; rev: string; status: number }> = [];
    const clickLoad = (tracker: AppProcess, tag: string) =>
      new OpenLoad(
        {
          port: tracker.port,
          host,
          path: (n) => entrance(`${tag}${n}`),
          onAnswer: (s: Sample) => {
            if (s.status !== 302 || !s.location) return;
            const hit = new URL(s.location).searchParams.get("hit");
            if (hit) {
              acknowledgedHits.add(hit);
              hits.push(hit);
            }
          },
        },
        25,
      );
    const postbackLoad = (tracker: AppProcess, tag: string) =>
      new OpenLoad(
        {
          port: tracker.port,
          host,
          path: (n) => {
            const hit = hits[(n * 7) % Math.max(1, hits.length)];
            if (!hit) return null;
            const p = { hit, tx: `${tag}${n}`, rev: (1 + (n % 90) / 10).toFixed(2) };
            postbacks.set(n * 2 + (tag === "ka" ? 0 : 1), p);
            return `/pb/?hit=${p.hit}&tx=${p.tx}&rev=${p.rev}`;
          },
          onAnswer: (s: Sample, n) => {
            const p = postbacks.get(n * 2 + (tag === "ka" ? 0 : 1));
            if (p) answered.push({ ...p, status: s.status });
          },
        },
        8,
      );
    const [t0, t1] = trackers as [AppProcess, AppProcess];
    const loads = [
      clickLoad(t0, "c0-"),
      clickLoad(t1, "c1-"),
      postbackLoad(t0, "ka"),
      postbackLoad(t1, "kb"),
    ];
    for (const load of loads) load.start();
    await sleep(4_000);
    await Promise.all([t1.kill(), workers[1]?.kill()]);
    await sleep(4_000);
    await Promise.all(loads.map((load) => load.stop()));

    const acknowledged = answered.filter((a) => a.status === 200 || a.status === 202);
    const expected = new Set(acknowledged.map((a) => `${a.hit}/${a.tx}/${Number(a.rev)}`));
    const conversions = new Set(acknowledged.map((a) => `${a.hit}/${a.tx}`));
    expect(acknowledgedHits.size).toBeGreaterThan(100);
    expect(acknowledged.length).toBeGreaterThan(20);
    // The killed tracker's spooled hits (if any) are replayed by the live one: the spool is shared.
    const hitIds = [...acknowledgedHits];
    await until(
      "every acknowledged hit stored",
      async () => {
        const [{ stored } = { stored: 0 }] = await owner.sql<{ stored: number }[]>`
          select count(*)::int as stored from hits where id = any(${hitIds}::uuid[])`;
        return stored === hitIds.length ? true : `${stored} of ${hitIds.length} hits stored`;
      },
      30_000,
    );
    // A 200 was committed when answered; a 202 was spooled in the cluster and is applied by a live
    // tracker's replay (the killed one's spool entries too: the spool is one stream for all).
    const statusOf = new Map(acknowledged.map((a) => [`${a.hit}/${a.tx}/${Number(a.rev)}`, a.status]));
    await until(
      "every acknowledged postback's conversion stored",
      async () => {
        const rows = await owner.sql<{ hit_id: string; tx: string; revenue: string }[]>`
          select hit_id, tx, revenue::text from conversions
          where deleted_at is null and tx = any(${acknowledged.map((a) => a.tx)})`;
        const stored = new Set(rows.map((r) => `${r.hit_id}/${r.tx}/${Number(r.revenue)}`));
        const missing = [...expected].filter((k) => !stored.has(k));
        return missing.length === 0
          ? true
          : `missing ${missing.map((k) => `${k} (answered ${statusOf.get(k)})`).join(", ")}`;
      },
      75_000,
    );
    // A job the killed worker held comes back to the live one once its lock expires (BullMQ's stall
    // check): the postbacks queue's lock is a minute, checked every 30 s.
    const t0Drain = Date.now();
    await drained(conversions, 120_000);
    process.stdout.write(`[topology] deliveries drained ${Date.now() - t0Drain} ms after the load\n`);
    await sleep(1_000);
    const got = deliveries(from);
    // Every acknowledged conversion told the traffic source, with its revenue.
    const told = new Set([...got].flatMap(([k, sent]) => sent.map((d) => `${k}/${d.payout}`)));
    expect([...expected].filter((k) => !told.has(k))).toEqual([]);
    // Never two deliveries of one conversion: every request for it carries the same Idempotency-Key.
    const twoDeliveries = [...got]
      .filter(([, sent]) => new Set(sent.map((d) => d.key)).size > 1)
      .map(([k]) => k);
    expect(twoDeliveries, await explain(twoDeliveries)).toEqual([]);
    // A delivery is sent again only when the killed worker had claimed an attempt (and maybe sent
    // it) without living to log it: at-least-once, the receiver dedupes by the key.
    const resent = [...got].filter(([, sent]) => sent.length > 1);
    for (const [revision, sent] of resent) {
      const deliveryId = (sent[0]?.key ?? "").split(":")[0] ?? "";
      const [row] = await owner.sql<{ attempts: number; logged: number }[]>`
        select d.attempts, (select count(*)::int from delivery_attempts a where a.delivery_id = d.id) as logged
        from outbound_deliveries d where d.id = ${deliveryId}::uuid`;
      expect(row && row.attempts > row.logged, `${revision}: ${JSON.stringify(row)}`).toBe(true);
    }
    process.stdout.write(
      `[topology] kill under load: ${acknowledgedHits.size} hits and ${acknowledged.length} postbacks acknowledged, ` +
        `${expected.size} deliveries, ${resent.length} resent after the worker died mid-attempt\n`,
    );
    await rollupsMatchRawRows(150_000);
    expect(t0.running).toBe(true);
    expect(workers[0]?.running).toBe(true);
  }, 330_000);
});
