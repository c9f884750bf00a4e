import { request } from "node:http";
import { fileURLToPath } from "node:url";
import type { AppRouter } from "@hitrail/api";
import { createApiKey, createCampaignKit, createWorkspace } from "@hitrail/db";
import { sql } from "@hitrail/db/testing/sql";
import { createTRPCClient, httpLink } from "@trpc/client";
import { startApi } from "../../apps/api/src/main.ts";
import { benchScratch, type LoadResult, load, startChild, startTrackerProcess } from "../lib.ts";

/**
 * `pnpm bench freshness`: how long after its click a visit shows in `reports.run`, and how long
 * after its postback a conversion does, while the click benchmark's load runs. The tracker and
 * the worker (rollups queue: the outbox relay and the sweep loop, conversions and visits) run
 * as their own processes from their production entry points; the api runs here, and the report is
 * read through its HTTP tRPC endpoint, as the dashboard reads it. A probe funnel of its own takes
 * one click at a time (then one postback for that click's lander hit) and polls the report filtered
 * to it until the visit (the conversion) is in. Afterwards, the visit rollups must hold every hit
 * exactly once. Targets: a visit within 5 s (p95), a conversion within 1 s (p95).
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CONNECTIONS = 64;
const POLL_MS = 50;
const TARGET = { visitP95Ms: 5_000, conversionP95Ms: 1_000 };
const UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

/** A GET with a Host header (fetch drops it), answering the status and the Location header. */
function get(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; location: string | null }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, location: res.headers.location ?? null }));
    });
    req.on("error", reject);
    req.end();
  });
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

export async function run(): Promise<void> {
  const scratch = await benchScratch();
  const { tag, appUrl, maintenanceUrl, redisUrl, prefix, db, cleanups } = scratch;
  try {
    const { workspace, host } = await createWorkspace(db.db, {
      slug: `bench-${tag}`,
      name: "Freshness bench",
      baseDomain: "bench.localhost",
    });
    const workspaceId = workspace.id;
    const kit = (name: string) =>
      createCampaignKit(db.db, {
        workspaceId,
        name,
        landerUrl: "https://pages.example/lander?hit={hit}&vid={vid}",
        offerUrls: ["https://pages.example/a?clickid={hit}", "https://pages.example/b?clickid={hit}"],
      });
    const loadKit = await kit("Load");
    const probeKit = await kit("Probe");

    const tracker = await startTrackerProcess({
      DATABASE_URL: appUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
    });
    cleanups.unshift(() => tracker.stop());
    const worker = await startChild(
      process.execPath,
      ["--import", "tsx", `${ROOT}apps/worker/src/main.ts`],
      `${ROOT}apps/worker`,
      {
        DATABASE_URL: appUrl,
        MAINTENANCE_DATABASE_URL: maintenanceUrl,
        REDIS_URL: redisUrl,
        REDIS_PREFIX: prefix,
        WORKER_QUEUES: "rollups",
        WORKER_PORT: "0",
        HOST: "127.0.0.1",
        LOG_LEVEL: "info",
        NODE_ENV: "production",
      },
      (line) => (line.msg === "worker running" ? String(line.url) : null),
    );
    cleanups.unshift(() => worker.stop());
    const api = await startApi(
      {
        ...scratch.env,
        DATABASE_URL: appUrl,
        REDIS_URL: redisUrl,
        REDIS_PREFIX: prefix,
        LOG_LEVEL: "silent",
      },
      { port: 0 },
    );
    cleanups.unshift(() => api.close());
    const { key } = await createApiKey(db.db, { workspaceId, name: "bench", role: "viewer" });
    const client = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${api.url}/trpc`, headers: { authorization: `Bearer ${key}` } })],
    });
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const probeTotals = async () =>
      (
        await client.reports.run.query({
          workspaceId,
          from: day(-1),
          to: day(1),
          groupBy: [],
          funnelId: probeKit.funnelId,
        })
      ).totals;
    const headers = { host, "user-agent": UA, "accept-language": "en-US,en;q=0.9" };

    /** Polls the report until `done` says yes; the time it took, in ms. */
    const until = async (done: (t: Awaited<ReturnType<typeof probeTotals>>) => boolean, since: number) => {
      const deadline = since + 60_000;
      for (;;) {
        if (done(await probeTotals())) return performance.now() - since;
        if (performance.now() > deadline) return Number.POSITIVE_INFINITY;
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    };

    let conversions = 0;
    /** One click on the probe funnel and one postback for its lander hit, each timed to the report. */
    const probe = async () => {
      const res = await get(
        `${tracker.url}/fts/${probeKit.funnelId}?ts=${probeKit.trafficSourceId}`,
        headers,
      );
      const clicked = performance.now();
      const hit = new URL(res.location ?? "https://x/").searchParams.get("hit");
      if (res.status !== 302 || !hit) throw new Error(`probe click answered ${res.status}`);
      const [stored] = await db.db.execute<{ n: number }>(
        sql`select count(*)::int as n from hits where workspace_id = ${workspaceId} and funnel_id = ${probeKit.funnelId}`,
      );
      const expected = Number(stored?.n ?? 0);
      const visitMs = await until((t) => t.visits >= expected, clicked);
      const pb = await get(`${tracker.url}/pb/?hit=${hit}&rev=1.5`, headers);
      const answered = performance.now();
      if (pb.status !== 200) throw new Error(`probe postback answered ${pb.status}`);
      conversions++;
      const want = conversions;
      const conversionMs = await until((t) => (t.direct?.conversions ?? 0) >= want, answered);
      return { visitMs, conversionMs };
    };

    // Warm-up: JIT, pools, the sweep's first pass.
    await load({
      url: `${tracker.url}/fts/${loadKit.funnelId}?ts=${loadKit.trafficSourceId}`,
      label: "warm-up",
      headers,
      durationSeconds: 2,
    });
    await probe();

    const idle: Array<{ visitMs: number; conversionMs: number }> = [];
    for (let i = 0; i < 10; i++) idle.push(await probe());

    let loading = true;
    const loaded = load({
      url: `${tracker.url}/fts/${loadKit.funnelId}?ts=${loadKit.trafficSourceId}&cost=0.02`,
      label: `clicks at ${CONNECTIONS} connections`,
      headers,
      connections: CONNECTIONS,
      durationSeconds: SECONDS,
      expectStatus: 302,
      processes: { [tracker.pid]: "tracker", [worker.pid]: "worker" },
    }).finally(() => {
      loading = false;
    });
    const underLoad: Array<{ visitMs: number; conversionMs: number }> = [];
    while (loading) underLoad.push(await probe());
    const clicks: LoadResult = await loaded;

    // Exactly once: once the sweep has caught up, the visit rollups hold every stored hit once.
    const [count] = await db.db.execute<{ hits: number }>(
      sql`select count(*)::int as hits from hits where workspace_id = ${workspaceId}`,
    );
    const hits = Number(count?.hits ?? 0);
    const caughtUpAt = performance.now();
    let rolled = 0;
    while (performance.now() - caughtUpAt < 60_000) {
      const [r] = await db.db.execute<{ visits: number }>(
        sql`select coalesce(sum(visits), 0)::int as visits from hit_rollups_hourly where workspace_id = ${workspaceId}`,
      );
      rolled = Number(r?.visits ?? 0);
      if (rolled >= hits) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 2_000)); // a few more sweeps: nothing may be added twice
    const [final] = await db.db.execute<{ visits: number; hits: number }>(sql`
      select (select coalesce(sum(visits), 0)::int from hit_rollups_hourly where workspace_id = ${workspaceId}) as visits,
             (select count(*)::int from hits where workspace_id = ${workspaceId}) as hits`);
    const exact = Number(final?.visits) === Number(final?.hits);

    // The sweep's own figures, from the worker's Prometheus endpoint.
    const metrics = await (await fetch(`${worker.url}/metrics`)).text();
    const metric = (name: string) =>
      Number(new RegExp(`^${name} (\\S+)$`, "m").exec(metrics)?.[1] ?? Number.NaN);
    const sweeps = metric("hitrail_hit_rollup_sweep_seconds_count");
    const sweepSeconds = metric("hitrail_hit_rollup_sweep_seconds_sum");
    // A labelled counter is absent until it first counts.
    const busy = metrics.includes('outcome="busy"')
      ? metric('hitrail_hit_rollup_sweeps_total\\{outcome="busy"\\}')
      : 0;

    const summarize = (label: string, xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return {
        measure: label,
        samples: xs.length,
        "p50 ms": Math.round(pct(sorted, 50)),
        "p95 ms": Math.round(pct(sorted, 95)),
        "max ms": Math.round(sorted[sorted.length - 1] ?? Number.NaN),
      };
    };
    const rows = [
      summarize(
        "visit in report after its 302 (idle)",
        idle.map((p) => p.visitMs),
      ),
      summarize(
        "conversion in report after its 200 (idle)",
        idle.map((p) => p.conversionMs),
      ),
      summarize(
        "visit in report after its 302 (under load)",
        underLoad.map((p) => p.visitMs),
      ),
      summarize(
        "conversion in report after its 200 (under load)",
        underLoad.map((p) => p.conversionMs),
      ),
    ];
    console.log(`\n## freshness: report polled every ${POLL_MS} ms through HTTP tRPC`);
    console.table(rows);
    console.log(
      `load: ${Math.round(clicks.rps)} clicks/s (p99 ${clicks.p99} ms, ${clicks.errors} errors) for ${SECONDS} s`,
    );
    console.log(
      `conversion sweeps: ${metric("hitrail_conversion_rollup_sweep_seconds_count")} passes, ${(
        (metric("hitrail_conversion_rollup_sweep_seconds_sum") /
          metric("hitrail_conversion_rollup_sweep_seconds_count")) *
          1000
      ).toFixed(0)} ms on average, ${metric("hitrail_conversions_swept_total")} conversions applied`,
    );
    console.log(
      `visit sweeps: ${sweeps} passes, ${((sweepSeconds / sweeps) * 1000).toFixed(0)} ms on average, ${metric("hitrail_hits_swept_total")} hits swept, ${busy} passes found the lock taken`,
    );
    const visitP95 = rows[2]?.["p95 ms"] ?? Number.NaN;
    const conversionP95 = rows[3]?.["p95 ms"] ?? Number.NaN;
    console.log(
      [
        `visits: ${hits} hits stored, ${Number(final?.visits)} in the rollups → ${exact ? "every hit counted exactly once" : "MISMATCH"}`,
        `target: visit p95 ≤ ${TARGET.visitP95Ms} ms under load → ${visitP95} ms: ${visitP95 <= TARGET.visitP95Ms ? "met" : "MISSED"}`,
        `target: conversion p95 ≤ ${TARGET.conversionP95Ms} ms under load → ${conversionP95} ms: ${conversionP95 <= TARGET.conversionP95Ms ? "met" : "MISSED"}`,
      ].join("\n"),
    );
    if (!exact) process.exitCode = 1;
  } finally {
    await scratch.dispose();
  }
}
