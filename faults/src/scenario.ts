import { createDb, type DbClient, runMigrations } from "@hitrail/db";
import { factories } from "@hitrail/db/testing";
import { createRedis, type Redis } from "@hitrail/queue";
import postgres from "postgres";
import { AppProcess } from "./apps.ts";
import { OpenLoad, type Sample } from "./load.ts";
import { freePort, ScratchPostgres, ScratchRedis } from "./servers.ts";

export const PREFIX = "faults";

/** The suite's own PostgreSQL and Redis, migrated and seeded with one workspace and its campaign. */
export interface Stack {
  pg: ScratchPostgres;
  redis: ScratchRedis;
  databaseUrl: string;
  host: string;
  funnelId: string;
  trafficSourceId: string;
  env: (port: number) => Record<string, string>;
  tracker: AppProcess;
  worker: AppProcess;
  check: DbClient;
  redisClient: Redis;
  destroy: () => Promise<void>;
}

export async function createStack(): Promise<Stack> {
  const pg = await ScratchPostgres.create();
  const redis = await ScratchRedis.create();
  const admin = postgres(pg.url(), { max: 1, onnotice: () => {} });
  await admin`create database hitrail`;
  await admin.end();
  // As production runs it: migrations as the owner, the apps as a role row-level security holds,
  // the worker's sweeps as the maintenance role (docs/security-tenancy.md).
  const ownerUrl = pg.url("hitrail");
  const role = (user: string) => `postgres://${user}:faults@127.0.0.1:${pg.port}/hitrail`;
  const databaseUrl = role("hitrail_app");
  const maintenanceUrl = role("hitrail_maintainer");
  await runMigrations(ownerUrl, { app: databaseUrl, maintenance: maintenanceUrl });
  const seed = createDb(ownerUrl, { max: 2 });
  const { workspace, host } = await factories.workspace(seed.db);
  const kit = await factories.campaign(seed.db, workspace.id);
  await seed.close();

  const env = (port: number): Record<string, string> => ({
    DATABASE_URL: databaseUrl,
    MAINTENANCE_DATABASE_URL: maintenanceUrl,
    REDIS_URL: redis.url,
    REDIS_PREFIX: PREFIX,
    HOST: "127.0.0.1",
    TRACKER_PORT: String(port),
    WORKER_PORT: String(port),
    BASE_DOMAIN: "test.localhost",
    LOG_LEVEL: "warn",
  });
  const trackerPort = await freePort();
  const workerPort = await freePort();
  const tracker = new AppProcess("tracker", trackerPort, env(trackerPort));
  const worker = new AppProcess("worker", workerPort, env(workerPort));
  await Promise.all([tracker.start(), worker.start()]);
  // Checks connect lazily and reconnect on their own: they outlive the outages the suite makes.
  const check = createDb(ownerUrl, { max: 2, connectTimeoutSeconds: 2 });
  const redisClient = createRedis(redis.url);
  redisClient.on("error", () => undefined); // the suite stops this Redis on purpose
  return {
    pg,
    redis,
    databaseUrl,
    host,
    funnelId: kit.funnelId,
    trafficSourceId: kit.trafficSourceId,
    env,
    tracker,
    worker,
    check,
    redisClient,
    destroy: async () => {
      await Promise.all([tracker.stop(), worker.stop()]);
      await check.close(1).catch(() => undefined);
      redisClient.disconnect();
      await Promise.all([pg.destroy(), redis.destroy()]);
    },
  };
}

/** The hit a 302 acknowledged: the lander URL carries it as `hit`, offers as `clickid`. */
export function hitOf(sample: Sample): string | null {
  if (sample.status !== 302 || sample.location === null) return null;
  const url = new URL(sample.location);
  return url.searchParams.get("hit") ?? url.searchParams.get("clickid");
}

interface Identity {
  hit: string;
  tx: string;
  sent: Array<{ rev: string; status: number }>;
  inFlight: boolean;
}

/**
 * Clicks and postbacks together, as networks send them: entrance clicks at `clickRate`, and
 * postbacks at `postbackRate` on hits those clicks were answered with, one in five an update of an
 * earlier conversion (new revenue, same tx) sent only once the previous one was answered, so the
 * order it arrives in is the order it was sent in.
 */
export class Traffic {
  readonly acknowledgedHits = new Set<string>();
  private readonly hits: string[] = [];
  readonly identities: Identity[] = [];
  readonly clicks: OpenLoad;
  readonly postbacks: OpenLoad;
  private readonly pending = new Map<number, { identity: Identity; rev: string }>();

  constructor(stack: Stack, port: number, clickRate: number, postbackRate: number) {
    this.clicks = new OpenLoad(
      {
        port,
        host: stack.host,
        path: (n) => `/fts/${stack.funnelId}?ts=${stack.trafficSourceId}&external=c${n}`,
        onAnswer: (sample) => {
          const hit = hitOf(sample);
          if (hit) {
            this.acknowledgedHits.add(hit);
            this.hits.push(hit);
          }
        },
      },
      clickRate,
    );
    this.postbacks = new OpenLoad(
      {
        port,
        host: stack.host,
        path: (n) => {
          const next = this.nextPostback(n);
          if (!next) return null;
          this.pending.set(n, next);
          next.identity.inFlight = true;
          return `/pb/?hit=${next.identity.hit}&tx=${next.identity.tx}&rev=${next.rev}`;
        },
        onAnswer: (sample, n) => {
          const p = this.pending.get(n);
          if (!p) return;
          this.pending.delete(n);
          p.identity.inFlight = false;
          p.identity.sent.push({ rev: p.rev, status: sample.status });
        },
      },
      postbackRate,
    );
  }

  private nextPostback(n: number): { identity: Identity; rev: string } | null {
    const rev = (1 + ((n * 7919) % 9000) / 100).toFixed(2);
    if (n % 5 === 4) {
      const candidates = this.identities.filter((i) => !i.inFlight && i.sent.length > 0);
      const identity = candidates[(n * 31) % Math.max(1, candidates.length)];
      if (identity) return { identity, rev };
    }
    if (this.hits.length === 0) return null;
    const hit = this.hits[(n * 7) % this.hits.length] as string;
    const identity: Identity = { hit, tx: `t${n}`, sent: [], inFlight: false };
    this.identities.push(identity);
    return { identity, rev };
  }

  start(): void {
    this.clicks.start();
    this.postbacks.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.clicks.stop(), this.postbacks.stop()]);
  }
}

const acknowledged = (status: number) => status === 200 || status === 202;

/**
 * What PostgreSQL holds once everything spooled is applied, against what was acknowledged: every
 * hit a 302 carried is stored, and every conversion is exactly what its acknowledged postbacks make
 * without an outage (one live conversion per identity, the last revenue, one log row per postback).
 */
export async function verifyStored(stack: Stack, traffic: Traffic, extraHits: string[] = []) {
  const hitIds = [...traffic.acknowledgedHits, ...extraHits];
  const sql = stack.check.sql;
  const [{ stored } = { stored: 0 }] = await sql<{ stored: number }[]>`
    select count(*)::int as stored from hits where id = any(${hitIds}::uuid[])`;
  const rows = await sql<{ hit_id: string; tx: string; revenue: string }[]>`
    select hit_id, tx, revenue from conversions where deleted_at is null and event_key = ''`;
  const logs = await sql<{ hit_id: string; tx: string; n: number }[]>`
    select hit_id, tx, count(*)::int as n from received_postbacks
    where outcome <> 'rejected' and hit_id is not null group by hit_id, tx`;
  const live = new Map<string, string[]>();
  for (const r of rows) {
    const key = `${r.hit_id}/${r.tx}`;
    live.set(key, [...(live.get(key) ?? []), r.revenue]);
  }
  const logged = new Map(logs.map((l) => [`${l.hit_id}/${l.tx}`, l.n]));
  const problems: string[] = [];
  let exact = 0;
  let acked = 0;
  let unacked = 0;
  for (const identity of traffic.identities) {
    const key = `${identity.hit}/${identity.tx}`;
    const revenues = live.get(key) ?? [];
    const ackedSent = identity.sent.filter((s) => acknowledged(s.status));
    acked += ackedSent.length;
    unacked += identity.sent.length - ackedSent.length;
    if (revenues.length > 1) problems.push(`${key}: ${revenues.length} live conversions`);
    if (ackedSent.length !== identity.sent.length) continue; // an unanswered postback may or may not apply
    if (identity.sent.length === 0) continue;
    const last = identity.sent[identity.sent.length - 1] as { rev: string };
    if (revenues.length !== 1 || Number(revenues[0]) !== Number(last.rev))
      problems.push(`${key}: revenue ${revenues.join(",") || "none"}, expected ${last.rev}`);
    else if ((logged.get(key) ?? 0) !== identity.sent.length)
      problems.push(`${key}: applied ${logged.get(key) ?? 0} times, acknowledged ${identity.sent.length}`);
    else exact++;
  }
  return { hitsAcknowledged: hitIds.length, hitsStored: Number(stored), acked, unacked, exact, problems };
}

/** Waits until both spools are empty and every acknowledged hit is stored (or the deadline). */
export async function waitForDrain(
  stack: Stack,
  traffic: Traffic,
  extraHits: string[] = [],
  timeoutMs = 90_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [hitSpool, pbSpool] = await Promise.all([
      stack.redisClient.xlen(`${PREFIX}:spool:hits`),
      stack.redisClient.xlen(`${PREFIX}:spool:conversions`),
    ]);
    const result = await verifyStored(stack, traffic, extraHits).catch(() => null);
    if (result && hitSpool === 0 && pbSpool === 0 && result.hitsStored === result.hitsAcknowledged)
      return result;
    if (Date.now() > deadline)
      return (
        result ?? {
          hitsAcknowledged: 0,
          hitsStored: 0,
          acked: 0,
          unacked: 0,
          exact: 0,
          problems: ["no answer"],
        }
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}
