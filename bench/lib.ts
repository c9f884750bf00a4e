import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { type Env, loadEnv } from "@hitrail/config";
import { createDb, type DbClient, runMigrations } from "@hitrail/db";
import { ScratchRedisCluster } from "@hitrail/faults";
import { createRedis } from "@hitrail/queue";
import autocannon from "autocannon";
import { type CpuUse, describeCpu, startCpuMeter } from "./cpu.ts";

export interface LoadResult {
  label: string;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx3xx: number;
  /** Where the CPU went during the run (null off Linux). */
  cpu: CpuUse | null;
}

export interface LoadOptions {
  url: string;
  label: string;
  connections?: number;
  durationSeconds?: number;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** Varies each request (distinct click IDs, transaction IDs…). */
  requests?: autocannon.Request[];
  /** Status class (by its first digit) a correct answer has; anything else counts as an error. */
  expectStatus?: number;
  /** Processes to name in the CPU breakdown (pid → label); this process is always "bench". */
  processes?: Record<number, string>;
  /**
   * More processes to name, asked for when the load has run (a pool's PostgreSQL backends are only
   * all there by then): on a shared machine "postgres" is every database's backends, these are ours.
   */
  processesAfter?: () => Promise<Record<number, string>>;
}

/** Runs autocannon against one URL for a fixed time and connection count. */
export async function load(opts: LoadOptions): Promise<LoadResult> {
  const labels: Record<number, string> = { [process.pid]: "bench + load generator", ...opts.processes };
  const stopMeter = startCpuMeter(labels);
  const r = await autocannon({
    url: opts.url,
    connections: opts.connections ?? 64,
    // The load generator runs on its own thread so it does not share an event loop with servers under test.
    workers: 1,
    duration: opts.durationSeconds ?? Number(process.env.BENCH_SECONDS ?? 10),
    method: opts.method ?? "GET",
    headers: opts.headers,
    body: opts.body,
    requests: opts.requests,
  });
  // Per-response events are not available with worker threads; status classes are.
  const counts = r as unknown as Record<"1xx" | "2xx" | "3xx" | "4xx" | "5xx", number>;
  const expectedClass = opts.expectStatus
    ? (`${String(opts.expectStatus)[0]}xx` as keyof typeof counts)
    : null;
  const wrong = expectedClass ? r.requests.total - (counts[expectedClass] ?? 0) : 0;
  if (opts.processesAfter) Object.assign(labels, await opts.processesAfter());
  return {
    label: opts.label,
    requests: r.requests.total,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts + wrong,
    non2xx3xx: r.non2xx,
    cpu: stopMeter(),
  };
}

/** The bare baseline every benchmark is compared with: node:http answering a fixed response. */
export async function bareServer(
  status: number,
  headers: Record<string, string>,
  body = "",
): Promise<{
  url: string;
  close: () => Promise<void>;
}> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(status, headers);
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export function report(title: string, baseline: LoadResult, results: LoadResult[]): void {
  const rows = [baseline, ...results].map((r) => ({
    run: r.label,
    "req/s": Math.round(r.rps),
    "p50 ms": r.p50,
    "p99 ms": r.p99,
    "vs bare": `${((r.rps / baseline.rps) * 100).toFixed(1)}%`,
    requests: r.requests,
    errors: r.errors,
  }));
  console.log(`\n## ${title}`);
  console.table(rows);
  for (const r of [baseline, ...results]) {
    if (r.cpu) console.log(`${r.label}:\n${describeCpu(r.cpu, r.requests)}`);
  }
}

/** The PostgreSQL backends serving one database (by pid), to name in a CPU breakdown. */
export async function databaseBackends(db: DbClient, label: string): Promise<Record<number, string>> {
  const rows = await db.sql<Array<{ pid: number }>>`
    select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
  return Object.fromEntries(rows.map((r) => [r.pid, label]));
}

/** The transactions committed in the database, carried in WriteCounts as `ins` under this name. */
const COMMITS = "(transactions committed)";

/** Per table (partitions under their parent): rows inserted, updated and deleted, and index entries written. */
export type WriteCounts = Map<string, { ins: number; upd: number; del: number; indexEntries: number }>;

/**
 * What the run's database has written so far, from pg_stat_user_tables. Index entries are counted
 * as each inserted row and each non-HOT update adding one entry to every index of its table (a
 * partial index whose predicate the row fails gets none; the tables measured here have none such on
 * insert). The statistics reach the view up to a second after a backend's commit: wait before.
 */
export async function writeCounts(db: DbClient): Promise<WriteCounts> {
  const rows = await db.sql<
    Array<{ name: string; ins: string; upd: string; del: string; index_entries: string }>
  >`
    select coalesce(parent.relname, s.relname)::text as name, sum(s.n_tup_ins) as ins, sum(s.n_tup_upd) as upd,
           sum(s.n_tup_del) as del,
           sum((s.n_tup_ins + s.n_tup_upd - s.n_tup_hot_upd) * (select count(*) from pg_index x where x.indrelid = s.relid)) as index_entries
    from pg_stat_user_tables s
    left join pg_inherits i on i.inhrelid = s.relid
    left join pg_class parent on parent.oid = i.inhparent
    group by 1
    union all
    select ${COMMITS}::text, xact_commit, 0, 0, 0 from pg_stat_database where datname = current_database()`;
  return new Map(
    rows.map((r) => [
      r.name,
      { ins: Number(r.ins), upd: Number(r.upd), del: Number(r.del), indexEntries: Number(r.index_entries) },
    ]),
  );
}

/** Rows and index entries written per request between two writeCounts, one line per table and a total. */
export function describeWrites(before: WriteCounts, after: WriteCounts, requests: number): string {
  const per = (n: number) => (n / Math.max(1, requests)).toFixed(2);
  const lines: string[] = [];
  let rows = 0;
  let entries = 0;
  for (const [name, a] of [...after].sort(([x], [y]) => x.localeCompare(y))) {
    const b = before.get(name) ?? { ins: 0, upd: 0, del: 0, indexEntries: 0 };
    const ins = a.ins - b.ins;
    const upd = a.upd - b.upd;
    const del = a.del - b.del;
    const idx = a.indexEntries - b.indexEntries;
    if (ins + upd + del === 0) continue;
    if (name === COMMITS) {
      // Group commit at work: the requests each transaction carried (the run's own few reads included).
      lines.unshift(
        `    transactions committed ${per(ins)} per request (${(requests / Math.max(1, ins)).toFixed(1)} requests each)`,
      );
      continue;
    }
    rows += ins + upd + del;
    entries += idx;
    lines.push(
      `    ${name.padEnd(28)} ${per(ins).padStart(6)} ins ${per(upd).padStart(6)} upd ${per(del).padStart(6)} del ${per(idx).padStart(6)} index entries`,
    );
  }
  return [
    `  rows written per request ${per(rows)}, index entries ${per(entries)} (pg_stat_user_tables):`,
    ...lines,
  ].join("\n");
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Removes every key of a benchmark's Redis prefix (SCAN, never KEYS, so a shared Redis stays responsive). */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = createRedis(url);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    await redis.quit();
  }
}

export interface BenchScratch {
  env: Env;
  tag: string;
  /** The run's database as its owner (seeding, checks). */
  dbUrl: string;
  /** As the apps' role and the worker's maintenance role: what the measured processes connect as. */
  appUrl: string;
  maintenanceUrl: string;
  redisUrl: string;
  /** Redis key prefix of this run. */
  prefix: string;
  /** A small pool on the run's own database. */
  db: DbClient;
  /** Run in order by `dispose`; add servers with unshift so they stop before the database goes. */
  cleanups: Array<() => Promise<unknown>>;
  dispose: () => Promise<void>;
}

/**
 * A migrated database and a Redis prefix of the run's own, on DATABASE_URL/REDIS_URL or the local
 * servers; `dispose` removes both, so a benchmark leaves nothing behind.
 */
export async function benchScratch(): Promise<BenchScratch> {
  const env = loadEnv();
  const adminUrl = env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  // BENCH_REDIS=cluster: a three-master Redis Cluster of the run's own (as the topology suite starts
  // it), so the same benchmark compares one Redis with a cluster.
  const cluster =
    process.env.BENCH_REDIS === "cluster" ? await ScratchRedisCluster.create({ masters: 3 }) : null;
  if (cluster) console.log(`bench: Redis Cluster of 3 masters at ${cluster.url}`);
  const redisUrl = cluster?.url ?? env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const tag = randomBytes(4).toString("hex");
  const dbName = `hitrail_bench_${tag}`;
  const dbUrl = withDatabase(adminUrl, dbName);
  const prefix = `hitrail-bench:${tag}`;
  const cleanups: Array<() => Promise<unknown>> = [];
  const admin = createDb(adminUrl, { max: 1, applicationName: "hitrail-bench" });
  const dispose = async () => {
    for (const cleanup of cleanups) {
      await cleanup().catch((error: unknown) => console.error(`bench cleanup: ${(error as Error).message}`));
    }
    await admin.close(1);
    await cluster?.destroy();
  };
  try {
    await admin.sql.unsafe(`create database "${dbName}"`);
    cleanups.push(() => admin.sql.unsafe(`drop database if exists "${dbName}" with (force)`));
    // The run's own cluster goes whole (below); on a shared Redis only the run's keys.
    if (!cluster) cleanups.push(() => deleteRedisPrefix(redisUrl, prefix));
    // The apps run as in production: roles that row-level security holds (docs/security-tenancy.md).
    const as = (user: string) => {
      const u = new URL(dbUrl);
      u.username = user;
      u.password = user;
      return u.toString();
    };
    const appUrl = as("hitrail_app");
    const maintenanceUrl = as("hitrail_maintainer");
    await runMigrations(dbUrl, { app: appUrl, maintenance: maintenanceUrl });
    const db = createDb(dbUrl, { max: 2, applicationName: "hitrail-bench" });
    cleanups.unshift(() => db.close(1));
    return { env, tag, dbUrl, appUrl, maintenanceUrl, redisUrl, prefix, db, cleanups, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * The tracker from its production entry point, as a process of its own, so its CPU is told apart
 * from the load generator's. `BENCH_CPU_PROF=DIR` writes a CPU profile of it to DIR.
 */
export function startTrackerProcess(env: Record<string, string>): Promise<Child> {
  return startChild(
    process.execPath,
    [
      ...(process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
      "--import",
      "tsx",
      `${ROOT}apps/tracker/src/main.ts`,
    ],
    ROOT,
    { HOST: "127.0.0.1", TRACKER_PORT: "0", LOG_LEVEL: "info", NODE_ENV: "production", ...env },
    (line) => (line.msg === "tracker listening" ? String(line.url) : null),
  );
}

/**
 * The floor server (bench/floor-server.ts) as a process of its own: a bare Fastify server doing only
 * the unavoidable work of a durable click or postback, writing `row` (a real row of the tracker's, as
 * JSON, with a fresh id per request) into `table`, which the caller creates shaped like the real one.
 */
export function startFloorProcess(opts: {
  kind: "click" | "postback";
  databaseUrl: string;
  redisUrl: string;
  /** The benchmark's Redis prefix, so its scratch clean-up removes the floor's keys too. */
  prefix: string;
  table: string;
  row: Record<string, unknown>;
}): Promise<Child> {
  return startChild(
    process.execPath,
    ["--import", "tsx", `${ROOT}bench/floor-server.ts`],
    ROOT,
    {
      FLOOR_KIND: opts.kind,
      FLOOR_DATABASE_URL: opts.databaseUrl,
      FLOOR_REDIS_URL: opts.redisUrl,
      FLOOR_PREFIX: opts.prefix,
      FLOOR_TABLE: opts.table,
      FLOOR_ROW: JSON.stringify(opts.row),
      NODE_ENV: "production",
    },
    (line) => (typeof line.url === "string" ? line.url : null),
  );
}

/**
 * How a server under test compares with the floor measured in the same run: throughput ratio, and
 * its own CPU per request against the floor server's own (the issue's targets are these ratios).
 */
export function compareWithFloor(
  server: LoadResult,
  serverLabel: string,
  floor: LoadResult,
  floorLabel: string,
  targets: { share: number; cpuRatio?: number; p99Ms: number },
): { line: string; met: boolean } {
  const cpuPer = (r: LoadResult, label: string) => {
    const ms = r.cpu?.groups.get(label);
    return ms !== undefined && r.requests > 0 ? (ms * 1000) / r.requests : null;
  };
  const share = server.rps / floor.rps;
  const mine = cpuPer(server, serverLabel);
  const theirs = cpuPer(floor, floorLabel);
  const ratio = mine !== null && theirs !== null && theirs > 0 ? mine / theirs : null;
  const met =
    share >= targets.share &&
    server.p99 <= targets.p99Ms &&
    (targets.cpuRatio === undefined || ratio === null || ratio <= targets.cpuRatio);
  const line =
    `vs the floor: ${(share * 100).toFixed(1)}% of its throughput (target ≥ ${targets.share * 100}%), ` +
    `p99 ${server.p99} ms (target ≤ ${targets.p99Ms} ms), own CPU ${mine?.toFixed(0) ?? "?"} µs/request vs the floor's ` +
    `${theirs?.toFixed(0) ?? "?"} µs = ${ratio?.toFixed(2) ?? "?"}×${targets.cpuRatio === undefined ? "" : ` (target ≤ ${targets.cpuRatio}×)`} → ${met ? "met" : "MISSED"}`;
  return { line, met };
}

export interface Child {
  url: string;
  pid: number;
  stop: () => Promise<void>;
}

/** Starts a server process and waits for the JSON log line that tells its URL. */
export async function startChild(
  command: string,
  args: string[],
  cwd: string,
  extraEnv: Record<string, string>,
  /** What the start line says (its URL, or "" when there is none to tell); null for any other line. */
  startedBy: (line: Record<string, unknown>) => string | null,
): Promise<Child> {
  const child: ChildProcess = spawn(command, args, {
    cwd,
    env: { ...process.env, ...extraEnv },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error(`${args.join(" ")} did not start within 30 s`)), 30_000);
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code} before starting`)));
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl = buffered.indexOf("\n");
      while (nl !== -1) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf("\n");
        let found: string | null = null;
        try {
          found = startedBy(JSON.parse(text) as Record<string, unknown>);
        } catch {
          // not a JSON line
        }
        if (found !== null) {
          clearTimeout(timer);
          // Later lines are drained unread: parsing a busy server's log would cost the run CPU.
          child.stdout?.off("data", onData);
          child.stdout?.resume();
          resolve(found);
          return;
        }
      }
    };
    child.stdout?.on("data", onData);
  });
  let stopping: Promise<void> | null = null;
  return {
    url,
    pid: child.pid ?? 0,
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode === null) child.kill("SIGTERM");
        const timeout = setTimeout(() => child.kill("SIGKILL"), 20_000);
        await exited;
        clearTimeout(timeout);
      })();
      return stopping;
    },
  };
}
