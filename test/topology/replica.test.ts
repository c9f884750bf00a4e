import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { type AppRouter, buildApi, hashPassword } from "@hitrail/api";
import {
  createDb,
  createWorkspace,
  type DbClient,
  insertAuthSession,
  insertMembership,
  insertUser,
  runMigrations,
} from "@hitrail/db";
import { createLogger } from "@hitrail/observability";
import { createRedis, type Redis } from "@hitrail/queue";
import { createTRPCClient, httpLink } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresReplicaPair, startPostgresReplicaPair } from "./support/postgres-replica.ts";

// The dashboard API on a PostgreSQL primary with a streaming replica of its own (initdb +
// pg_basebackup -R). Replay paused on the replica is a lag we control: what the replica serves is
// then visibly older than the primary, so each answer says where it came from.

const root = fileURLToPath(new URL("../../", import.meta.url));
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const redisPrefix = `hitrail-test:topology-replica:${randomBytes(5).toString("hex")}`;

let pg: PostgresReplicaPair;
let primary: DbClient;
let replica: DbClient;
let owner: DbClient;
let redis: Redis;
const apps: Awaited<ReturnType<typeof buildApi>>[] = [];
let workspaceId: string;
/** Cookies of two members: the writer saves things, the reader only looks. */
let writer: string;
let reader: string;

const appUrl = (url: string) => {
  const u = new URL(url);
  u.username = "hitrail_app";
  return u.toString();
};

async function startApi(maxReplicaLagSeconds: number): Promise<string> {
  const app = await buildApi({
    db: primary,
    readDb: replica,
    maxReplicaLagSeconds,
    // Measure the replica on every read, so each read sees the state the test just made.
    replicaStateTtlMs: 0,
    logger: createLogger({ name: "api", level: "silent" }),
    redis,
    redisPrefix,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  apps.push(app);
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

function client(base: string, cookie: string) {
  return createTRPCClient<AppRouter>({ links: [httpLink({ url: `${base}/trpc`, headers: { cookie } })] });
}

/** Value of one sample of the api's /metrics (0 when absent). */
async function metric(base: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (want.every((w) => line.includes(w))) return Number(line.split(" ").pop());
  }
  return 0;
}

async function member(role: "owner" | "viewer"): Promise<string> {
  const user = await insertUser(owner.db, {
    email: `${role}-${randomBytes(4).toString("hex")}@example.com`,
    name: null,
    passwordHash: await hashPassword("correct horse battery staple"),
  });
  await insertMembership(owner.db, { workspaceId, userId: user.id, role });
  const token = randomBytes(32).toString("base64url");
  await insertAuthSession(owner.db, {
    userId: user.id,
    tokenHash: createHash("sha256").update(token).digest("hex"),
    expiresAt: new Date(Date.now() + 3_600_000),
  });
  return `hitrail_session=${token}`;
}

const offerInput = (name: string) => ({ workspaceId, name, url: "https://offers.example/o?c={hit}" });

beforeAll(async () => {
  pg = await startPostgresReplicaPair();
  const admin = createDb(pg.primaryUrl(), { max: 1 });
  await admin.sql`create database hitrail`;
  await admin.close(1);
  await runMigrations(pg.primaryUrl("hitrail"), { app: appUrl(pg.primaryUrl("hitrail")) });
  owner = createDb(pg.primaryUrl("hitrail"), { max: 2 });
  // The apps' role on both servers, as production connects (row-level security applies).
  primary = createDb(appUrl(pg.primaryUrl("hitrail")), { max: 4 });
  replica = createDb(appUrl(pg.replicaUrl("hitrail")), { max: 4, connectTimeoutSeconds: 3 });
  redis = createRedis(redisUrl);
  const { workspace } = await createWorkspace(owner.db, {
    name: "Replica",
    slug: `replica-${randomBytes(3).toString("hex")}`,
    baseDomain: "localhost",
  });
  workspaceId = workspace.id;
  writer = await member("owner");
  reader = await member("viewer");
  await pg.caughtUp();
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await primary?.close(1);
  await replica?.close(1);
  await owner?.close(1);
  if (redis) {
    const keys = await redis.keys(`${redisPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
  await pg?.stop();
});

describe("a PostgreSQL read replica behind the dashboard API", () => {
  it("serves lists and reports to a user who did not write from the replica, and a writer's own reads from the primary", async () => {
    const base = await startApi(3_600);
    const asWriter = client(base, writer);
    const asReader = client(base, reader);
    await asWriter.offers.create.mutate(offerInput("Before the pause"));
    await pg.caughtUp();
    const replicaReads = await metric(base, "hitrail_api_reads_total", { target: "replica" });

    await pg.pauseReplay();
    try {
      await asWriter.offers.create.mutate(offerInput("Saved while replay is paused"));
      // The writer sees what they saved at once: their reads wait for the replica to replay it.
      const own = await asWriter.offers.list.query({ workspaceId });
      expect(own.items.map((o) => o.name).sort()).toEqual([
        "Before the pause",
        "Saved while replay is paused",
      ]);
      // The reader never wrote: the replica answers, as it was when replay stopped.
      const stale = await asReader.offers.list.query({ workspaceId });
      expect(stale.items.map((o) => o.name)).toEqual(["Before the pause"]);
      const report = await asReader.reports.run.query({
        workspaceId,
        from: new Date().toISOString().slice(0, 10),
        to: new Date().toISOString().slice(0, 10),
        groupBy: ["offer"],
      });
      expect(report.totals.visits).toBe(0);
      expect(await metric(base, "hitrail_api_reads_total", { target: "replica" })).toBe(replicaReads + 2);
      expect(
        await metric(base, "hitrail_api_reads_total", { target: "primary", reason: "read_your_writes" }),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await pg.resumeReplay();
    }
    await pg.caughtUp();
    const fresh = await asReader.offers.list.query({ workspaceId });
    expect(fresh.items.map((o) => o.name).sort()).toEqual([
      "Before the pause",
      "Saved while replay is paused",
    ]);
  });

  it("falls back to the primary, counted, when the replica lags past the bound", async () => {
    const base = await startApi(0);
    const asWriter = client(base, writer);
    const asReader = client(base, reader);
    await pg.caughtUp();
    await pg.pauseReplay();
    try {
      await asWriter.offers.create.mutate(offerInput("Saved while lagging"));
      // Bound 0 s: any replay gap is too much, so even the reader gets the primary's answer.
      const list = await asReader.offers.list.query({ workspaceId });
      expect(list.items.map((o) => o.name)).toContain("Saved while lagging");
      expect(
        await metric(base, "hitrail_api_replica_fallbacks_total", { reason: "lagging" }),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await pg.resumeReplay();
    }
  });

  it("reports the replica's lag in hitrail doctor", async () => {
    await pg.caughtUp();
    await pg.pauseReplay();
    try {
      // A write the replica receives but does not replay.
      await owner.sql`create table doctor_probe (x int)`;
      const result = spawnSync(`${root}node_modules/.bin/tsx`, ["apps/cli/src/main.ts", "doctor"], {
        cwd: root,
        encoding: "utf8",
        timeout: 60_000,
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: appUrl(pg.primaryUrl("hitrail")),
          DATABASE_READ_URL: appUrl(pg.replicaUrl("hitrail")),
          DATABASE_READ_MAX_LAG_SECONDS: "3600",
          REDIS_URL: redisUrl,
          REDIS_PREFIX: redisPrefix,
          LOG_LEVEL: "silent",
        },
      });
      const line = result.stdout.split("\n").find((l) => /^\S+\s+read replica\s/.test(l));
      expect(line, result.stdout + result.stderr).toMatch(
        /^ok\s+read replica\s+lag \d+\.\d s, [\d,]+ bytes of WAL behind/,
      );
    } finally {
      await pg.resumeReplay();
    }
    await pg.caughtUp();
  });

  it("falls back to the primary, counted, when the replica is down, and goes back to it once it is up", async () => {
    const base = await startApi(3_600);
    const asReader = client(base, reader);
    await asReader.offers.list.query({ workspaceId }); // the pool holds replica connections
    await pg.stopReplica();
    try {
      const list = await asReader.offers.list.query({ workspaceId });
      expect(list.items.length).toBeGreaterThan(0);
      const fallbacks =
        (await metric(base, "hitrail_api_replica_fallbacks_total", { reason: "unreachable" })) +
        (await metric(base, "hitrail_api_replica_fallbacks_total", { reason: "failed" }));
      expect(fallbacks).toBeGreaterThanOrEqual(1);
    } finally {
      await pg.startReplica();
    }
    await pg.caughtUp();
    const before = await metric(base, "hitrail_api_reads_total", { target: "replica" });
    await asReader.offers.list.query({ workspaceId });
    expect(await metric(base, "hitrail_api_reads_total", { target: "replica" })).toBe(before + 1);
  });
});
