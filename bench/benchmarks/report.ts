import { performance } from "node:perf_hooks";
import type { AppRouter } from "@hitrail/api";
import {
  createApiKey,
  createCampaignKit,
  createTrafficSource,
  createWorkspace,
  type DbClient,
  recomputeRollups,
} from "@hitrail/db";
import { sql } from "@hitrail/db/testing/sql";
import { createTRPCClient, httpLink } from "@trpc/client";
import { startApi } from "../../apps/api/src/main.ts";
import { startCpuMeter } from "../cpu.ts";
import { benchScratch } from "../lib.ts";

// `pnpm bench report [--hits N] [--conversions N] [--days N] [--runs N]`: the dashboard's report at
// scale. Builds N hits (10 million by default) and conversions (200,000) spread over 30 days in a
// scratch database — bulk-loaded with INSERT … SELECT generate_series, then rolled up exactly as
// production does (`recomputeRollups`, the code behind `hitrail rollups recompute`) — and measures
// reports.run through the api's HTTP tRPC endpoint: the 30-day report grouped by funnel and node,
// by day, the grid's drill-downs, and by tracking field. Target: ≤ 300 ms. The bare baseline is the same HTTP call to system.health.

const FUNNELS = 5;
const COUNTRIES = ["US", "GB", "DE", "FR", "BR", "IN", "CA", "AU", "ES", "IT"];
const DEVICES = ["mobile", "desktop", "tablet"];
/** Distinct values of the `zone` tracking field every visit carries. */
const ZONES = 200;
/** Distinct campaigns (the campaign column, the `campaign` field of reports) of the visits. */
const CAMPAIGNS = 20;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return Math.floor(v);
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

/**
 * The CPU the run's own PostgreSQL backends spent from `start` to the returned function's call, in
 * seconds (null off Linux). On a machine shared with other work the wall time of a load or a
 * recompute is mostly what the others took from it; their backends' CPU is not.
 */
function backendCpu(db: DbClient) {
  const stop = startCpuMeter({});
  return async (): Promise<number | null> => {
    // Every connection of the pool, the one asking among them: it spent the window's work too.
    const pids = (
      await db.sql<
        Array<{ pid: number }>
      >`select pid from pg_stat_activity where datname = current_database()`
    ).map((r) => r.pid);
    const use = stop();
    if (!use) return null;
    return pids.reduce((sum, pid) => sum + (use.byPid.get(pid) ?? 0), 0) / 1000;
  };
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const out = await fn();
  console.log(`  ${label}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return out;
}

export async function run(): Promise<void> {
  const hits = arg("hits", 10_000_000);
  const conversions = arg("conversions", 200_000);
  const days = arg("days", 30);
  const runs = arg("runs", 30);
  // Each visit is a lander hit; 40 % of visits click through to an offer (a second hit).
  const visits = Math.round(hits / 1.4);
  const offerVisits = hits - visits;
  if (conversions > offerVisits) throw new Error("more conversions than offer hits");

  const scratch = await benchScratch();
  try {
    const { db } = scratch;
    const { workspace } = await createWorkspace(db.db, {
      name: "Report bench",
      slug: `bench-${scratch.tag}`,
      baseDomain: "bench.localhost",
    });
    const workspaceId = workspace.id;
    const sources: Array<{ id: string }> = [];
    for (let i = 0; i < 3; i++) {
      sources.push(await createTrafficSource(db.db, { workspaceId, name: `Source ${i}` }));
    }
    const kits = [];
    for (let f = 0; f < FUNNELS; f++) {
      kits.push(
        await createCampaignKit(db.db, {
          workspaceId,
          name: `Funnel ${f}`,
          landerUrl: "https://pages.example/l",
          offerUrls: ["https://offers.example/a?c={hit}", "https://offers.example/b?c={hit}"],
        }),
      );
    }
    const now = Date.now();
    const end = new Date(Math.floor(now / 3_600_000) * 3_600_000);
    const start = new Date(end.getTime() - days * 86_400_000);
    console.log(
      `building ${hits.toLocaleString()} hits (${visits.toLocaleString()} lander, ${offerVisits.toLocaleString()} offer) and ${conversions.toLocaleString()} conversions over ${days} days`,
    );
    await db.sql`select hitrail_ensure_hit_partitions(${Math.ceil(days / 28) + 1}, 1)`;

    // Lookup tables the generators index into: funnel → (lander node/page, offer node/page).
    const funnels = sql.raw(
      `(values ${kits
        .map(
          (k, i) =>
            `(${i}, '${k.funnelId}'::uuid, '${k.nodes.lander}'::uuid, '${k.landerId}'::uuid, '${k.nodes.offerA}'::uuid, '${k.offerIds[0]}'::uuid)`,
        )
        .join(",")}) as f(n, funnel_id, lander_node, lander_page, offer_node, offer_page)`,
    );
    const sourceIds = `array[${sources.map((s) => `'${s.id}'::uuid`).join(",")}]`;
    const countries = `array[${COUNTRIES.map((c) => `'${c}'`).join(",")}]`;
    const devices = `array[${DEVICES.map((d) => `'${d}'`).join(",")}]`;
    // A UUIDv7 minted at ts: 48 bits of milliseconds, then version, variant and hashed randomness.
    const uuid7 = (ts: string, seed: string) =>
      `(lpad(to_hex((extract(epoch from ${ts}) * 1000)::bigint), 12, '0') || '7' || substr(md5(${seed}), 1, 3) || '8' || substr(md5(${seed}), 4, 15))::uuid`;
    const span = (end.getTime() - start.getTime()) / 1000;
    const chunk = 500_000;

    const loadStarted = performance.now();
    const loadCpu = backendCpu(db);
    await timed("hits", async () => {
      for (let from = 0; from < visits; from += chunk) {
        const to = Math.min(visits, from + chunk);
        // Lander hit i at a pseudo-random moment of the range; offer hit i (i < offerVisits) 30 s later.
        await db.db.execute(sql`
          insert into hits (id, workspace_id, visitor_id, funnel_id, node_id, page_id, page_kind, traffic_source_id,
                            cost, prev_hit_id, device_type, os, browser, country, is_bot, tracking_fields, campaign, created_at)
          select ${sql.raw(uuid7("v.at", "'l' || v.i"))}, ${workspaceId}, ${sql.raw(uuid7("v.at", "'v' || v.i"))},
                 f.funnel_id, f.lander_node, f.lander_page, 'lander', (${sql.raw(sourceIds)})[1 + v.i % 3],
                 0.02, null, (${sql.raw(devices)})[1 + (v.i / 7) % 3], 'Android', 'Chrome',
                 (${sql.raw(countries)})[1 + (v.i / 3) % 10], v.i % 50 = 0,
                 jsonb_build_object('zone', 'z' || (v.i % ${ZONES})), 'c' || (v.i % ${CAMPAIGNS}), v.at
          from (select i, ${start.toISOString()}::timestamptz + make_interval(secs => ((i::bigint * 7919) % ${Math.floor(span)})::double precision) as at
                from generate_series(${from}::int, ${to - 1}::int) i) v
          join ${funnels} on f.n = v.i % ${FUNNELS}`);
        const offerTo = Math.min(to, offerVisits);
        if (from < offerTo) {
          await db.db.execute(sql`
            insert into hits (id, workspace_id, visitor_id, funnel_id, node_id, page_id, page_kind, traffic_source_id,
                              cost, prev_hit_id, device_type, os, browser, country, is_bot, tracking_fields, campaign, created_at)
            select ${sql.raw(uuid7("v.at", "'o' || v.i"))}, ${workspaceId}, ${sql.raw(uuid7("v.lat", "'v' || v.i"))},
                   f.funnel_id, f.offer_node, f.offer_page, 'offer', (${sql.raw(sourceIds)})[1 + v.i % 3],
                   null, ${sql.raw(uuid7("v.lat", "'l' || v.i"))}, (${sql.raw(devices)})[1 + (v.i / 7) % 3], 'Android', 'Chrome',
                   (${sql.raw(countries)})[1 + (v.i / 3) % 10], false,
                   jsonb_build_object('zone', 'z' || (v.i % ${ZONES})), 'c' || (v.i % ${CAMPAIGNS}), v.at
            from (select i, lat, least(lat + interval '30 seconds', ${end.toISOString()}::timestamptz - interval '1 millisecond') as at
                  from (select i, ${start.toISOString()}::timestamptz + make_interval(secs => ((i::bigint * 7919) % ${Math.floor(span)})::double precision) as lat
                        from generate_series(${from}::int, ${offerTo - 1}::int) i) g) v
            join ${funnels} on f.n = v.i % ${FUNNELS}`);
        }
        process.stdout.write(`    ${to.toLocaleString()} visits\r`);
      }
    });

    await timed("conversions and touches", async () => {
      // Every (offerVisits / conversions)-th offer hit converts; its lander visit is the assisted touch.
      const step = Math.floor(offerVisits / conversions);
      await db.db.execute(sql`
        insert into conversions (id, workspace_id, hit_id, tx, revenue, status, visitor_id, funnel_id, node_id, page_id,
                                 page_kind, traffic_source_id, hit_at, converted_at)
        select ${sql.raw(uuid7("v.at", "'c' || v.i"))}, ${workspaceId}, ${sql.raw(uuid7("v.at", "'o' || v.i"))}, '',
               (10 + v.i % 7)::numeric, 'approved', ${sql.raw(uuid7("v.lat", "'v' || v.i"))}, f.funnel_id, f.offer_node,
               f.offer_page, 'offer', (${sql.raw(sourceIds)})[1 + v.i % 3], v.at, v.at + interval '1 hour'
        from (select i, lat, least(lat + interval '30 seconds', ${end.toISOString()}::timestamptz - interval '1 millisecond') as at
              from (select i, ${start.toISOString()}::timestamptz + make_interval(secs => ((i::bigint * 7919) % ${Math.floor(span)})::double precision) as lat
                    from generate_series(0, ${conversions - 1}) k, lateral (select k * ${step} as i) s) g) v
        join ${funnels} on f.n = v.i % ${FUNNELS}`);
      await db.db.execute(sql`
        insert into touches (id, workspace_id, conversion_id, hit_id, funnel_id, node_id, page_id, kind, position, hit_at)
        select gen_random_uuid(), c.workspace_id, c.id, h.id, h.funnel_id, h.node_id, h.page_id, 'assisted', 1, h.created_at
        from conversions c
        join hits o on o.id = c.hit_id
        join hits h on h.id = o.prev_hit_id
        where c.workspace_id = ${workspaceId}`);
    });
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const loadCpuSeconds = await loadCpu();
    await timed("analyze", () => db.sql`analyze`);
    const recomputeStarted = performance.now();
    const recomputeCpu = backendCpu(db);
    const summary = await timed("rollups (hitrail rollups recompute)", () =>
      recomputeRollups(db.db, { workspaceId, from: start, to: end }),
    );
    const recomputeSeconds = (performance.now() - recomputeStarted) / 1000;
    const recomputeCpuSeconds = await recomputeCpu();
    const ratio = recomputeSeconds / loadSeconds;
    console.log(
      `    conversions ${(summary.elapsedMs.conversions / 1000).toFixed(1)} s (${summary.caughtUp.toLocaleString()} ledgers caught up), visits ${(summary.elapsedMs.hits / 1000).toFixed(1)} s`,
    );
    console.log(
      `  recompute / load (hits, conversions and touches: ${loadSeconds.toFixed(1)} s) = ${ratio.toFixed(2)}; target ≤ 0.25 → ${ratio <= 0.25 ? "met" : "MISSED"}`,
    );
    if (loadCpuSeconds !== null && recomputeCpuSeconds !== null) {
      console.log(
        `  database CPU: recompute ${recomputeCpuSeconds.toFixed(1)} s / load ${loadCpuSeconds.toFixed(1)} s = ${(recomputeCpuSeconds / loadCpuSeconds).toFixed(2)} (the same ratio where nothing else runs on the cores)`,
      );
    }
    // Fresh statistics, as autovacuum would have them after a day of traffic.
    const tables = [
      "hit_rollups_hourly",
      "field_rollups_hourly",
      "field_rollups_daily",
      "conversion_rollups_hourly",
      "field_conversion_rollups_hourly",
      "field_conversion_rollups_daily",
      "visit_tuple_rollups_hourly",
      "visit_tuple_rollups_daily",
      "conversion_tuple_rollups_hourly",
      "conversion_tuple_rollups_daily",
      "conversion_time_rollups_hourly",
      "conversion_time_tuple_rollups_hourly",
      "conversion_time_tuple_rollups_daily",
    ];
    // (Run against an older schema for a before/after pair, the tables it lacks are left out.)
    const present = (
      await db.sql<
        { t: string }[]
      >`select t from unnest(${tables}::text[]) t where to_regclass(t) is not null`
    ).map((r) => r.t);
    await db.sql.unsafe(`analyze ${present.join(", ")}`);
    for (const table of present) {
      const [row] = await db.sql.unsafe<{ n: number }[]>(`select count(*)::int as n from ${table}`);
      const n = row?.n ?? 0;
      console.log(`  rollup rows: ${table} ${n.toLocaleString()} (${(n / hits).toFixed(3)} per hit)`);
    }

    const env = {
      ...scratch.env,
      DATABASE_URL: scratch.appUrl,
      REDIS_URL: scratch.redisUrl,
      REDIS_PREFIX: scratch.prefix,
      LOG_LEVEL: "silent" as const,
    };
    const api = await startApi(env, { port: 0 });
    scratch.cleanups.unshift(() => api.close());
    const { key } = await createApiKey(db.db, { workspaceId, name: "bench", role: "viewer" });
    const client = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${api.url}/trpc`, headers: { authorization: `Bearer ${key}` } })],
    });
    const day = (d: Date) => d.toISOString().slice(0, 10);
    const range = { workspaceId, from: day(new Date(end.getTime() - (days - 1) * 86_400_000)), to: day(end) };

    const measure = async (label: string, call: () => Promise<unknown>) => {
      for (let i = 0; i < 3; i++) await call(); // warm-up: plans, caches, connections
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await call();
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      return {
        label,
        runs,
        p50: pct(times, 50),
        p99: pct(times, 99),
        max: times[times.length - 1] ?? Number.NaN,
      };
    };
    const byNode = await client.reports.run.query({ ...range, groupBy: ["funnel", "node"] });
    const totals = byNode.totals;
    const results = [
      await measure("bare: system.health over HTTP tRPC", () => client.system.health.query()),
      await measure(`${days}-day report by funnel, node`, () =>
        client.reports.run.query({ ...range, groupBy: ["funnel", "node"] }),
      ),
      await measure(`${days}-day report by day`, () =>
        client.reports.run.query({ ...range, groupBy: ["day"] }),
      ),
      await measure(`${days}-day report by traffic source, country, device`, () =>
        client.reports.run.query({ ...range, groupBy: ["trafficSource", "country", "device"] }),
      ),
      // The grid's moves: a level with the previous period beside it, a row expanded (its parent's key
      // as a filter), a shorter range, and a tracking field level.
      await measure(`${days}-day report by traffic source, compared`, () =>
        client.reports.run.query({ ...range, groupBy: ["trafficSource"], compare: true }),
      ),
      await measure("drill-down: countries of one traffic source", () =>
        client.reports.run.query({
          ...range,
          groupBy: ["country"],
          filters: [{ dimension: "trafficSource", value: sources[0]?.id ?? null }],
        }),
      ),
      await measure("7-day report by offer", () =>
        client.reports.run.query({
          ...range,
          from: day(new Date(end.getTime() - 6 * 86_400_000)),
          groupBy: ["offer"],
        }),
      ),
      // Tracking fields: visits and conversions from the rollups by field (hours and UTC days).
      await measure("yesterday: zones of one traffic source (field)", () =>
        client.reports.run.query({
          ...range,
          from: day(new Date(end.getTime() - 86_400_000)),
          to: day(new Date(end.getTime() - 86_400_000)),
          groupBy: ["field:zone"],
          filters: [{ dimension: "trafficSource", value: sources[0]?.id ?? null }],
        }),
      ),
      await measure("7-day report by zone (field)", () =>
        client.reports.run.query({
          ...range,
          from: day(new Date(end.getTime() - 6 * 86_400_000)),
          groupBy: ["field:zone"],
        }),
      ),
      await measure(`${days}-day report by zone (field)`, () =>
        client.reports.run.query({ ...range, groupBy: ["field:zone"] }),
      ),
      await measure("7-day drill-down: offers of one zone of one traffic source (field)", () =>
        client.reports.run.query({
          ...range,
          from: day(new Date(end.getTime() - 6 * 86_400_000)),
          groupBy: ["offer"],
          filters: [
            { dimension: "trafficSource", value: sources[0]?.id ?? null },
            { dimension: "field:zone", value: "z3" },
          ],
        }),
      ),
      await measure("7-day report by campaign (field)", () =>
        client.reports.run.query({
          ...range,
          from: day(new Date(end.getTime() - 6 * 86_400_000)),
          groupBy: ["field:campaign"],
        }),
      ),
      // Two fields at once, or a field by country: the rollups by visit tuple (hours and UTC days).
      await measure("7-day drill-down: zones of one campaign (two fields, tuple)", () =>
        client.reports.run.query({
          ...range,
          from: day(new Date(end.getTime() - 6 * 86_400_000)),
          groupBy: ["field:zone"],
          filters: [{ dimension: "field:campaign", value: "c3" }],
        }),
      ),
      await measure("yesterday: zones by country (field × country, tuple)", () =>
        client.reports.run.query({
          ...range,
          from: day(new Date(end.getTime() - 86_400_000)),
          to: day(new Date(end.getTime() - 86_400_000)),
          groupBy: ["field:zone", "country"],
        }),
      ),
      // Revenue that arrives days late, credited when it converted rather than when the visit
      // happened: conversions from the rollups at conversion time, visits from the visit rollups.
      await measure(`${days}-day report by traffic source, credited at conversion time`, () =>
        client.reports.run.query({ ...range, groupBy: ["trafficSource"], creditAt: "conversion" }),
      ),
      await measure("7-day report by zone, credited at conversion time (field)", () =>
        client.reports.run.query({
          ...range,
          from: day(new Date(end.getTime() - 6 * 86_400_000)),
          groupBy: ["field:zone"],
          creditAt: "conversion",
        }),
      ),
    ];
    console.log(
      `report totals: ${totals.visits.toLocaleString()} visits, ${totals.direct?.conversions.toLocaleString()} conversions, revenue ${totals.direct?.revenue}`,
    );
    console.table(
      results.map((r) => ({
        query: r.label,
        runs: r.runs,
        "p50 ms": Math.round(r.p50 * 10) / 10,
        "p99 ms": Math.round(r.p99 * 10) / 10,
        "max ms": Math.round(r.max * 10) / 10,
        "≤ 300 ms (p99)": r.label.startsWith("bare") ? "" : r.p99 <= 300 ? "yes" : "NO",
      })),
    );
  } finally {
    // --keep leaves the database for EXPLAIN-ing the report's queries by hand.
    if (process.argv.includes("--keep")) console.log(`kept database: ${scratch.dbUrl}`);
    else await scratch.dispose();
  }
}
