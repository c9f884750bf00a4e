import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createCampaignKit, createWorkspace, type DbClient } from "@hitrail/db";
import { sql } from "@hitrail/db/testing/sql";
import { startCpuMeter } from "../cpu.ts";
import { benchScratch, type Child, type LoadResult, load, report, startChild } from "../lib.ts";

/**
 * Traffic-source postbacks delivered per second by the real worker process (outbox relay → BullMQ →
 * fire-time checks → HTTP → attempt log), against a local receiver whose bare capacity is measured
 * in the same run. Each pass writes a backlog of conversions with their deliveries (held back as
 * relayed), starts a worker from its production entry point, then releases them as the tracker leaves
 * them (a delivery is its own outbox entry, not relayed yet), and counts what is delivered in
 * BENCH_SECONDS. After a graceful shutdown, every request the receiver got must be a
 * logged attempt, and no delivery may have been sent twice.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

interface Receiver {
  url: string;
  hits: () => number;
  reset: () => void;
  close: () => Promise<void>;
}

/** node:http answering 200 "OK" to everything, counting what it got. */
async function startReceiver(): Promise<Receiver> {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("OK");
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    reset: () => {
      hits = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Pass {
  label: string;
  hostConcurrency: number;
}

export async function run(): Promise<void> {
  const scratch = await benchScratch();
  const { tag, appUrl, maintenanceUrl, redisUrl, prefix, db, cleanups } = scratch;
  try {
    const receiver = await startReceiver();
    cleanups.unshift(() => receiver.close());
    const baseline = await load({
      url: `${receiver.url}/pb?c=warm`,
      label: "bare node:http 200 (the receiver alone)",
      expectStatus: 200,
    });

    const { workspace } = await createWorkspace(db.db, {
      slug: `bench-${tag}`,
      name: "Bench",
      baseDomain: "bench.localhost",
    });
    const kit = await createCampaignKit(db.db, {
      workspaceId: workspace.id,
      trafficSourcePostbackUrl: `${receiver.url}/pb?click={external}&payout={payout}`,
      landerUrl: "https://pages.example/lander?hit={hit}",
      offerUrls: ["https://pages.example/a?clickid={hit}", "https://pages.example/b?clickid={hit}"],
    });

    const passes: Pass[] = [
      { label: "worker, defaults (50 jobs, 16 per host)", hostConcurrency: 16 },
      { label: "worker, per-host limit raised to 50", hostConcurrency: 50 },
    ];
    const results: LoadResult[] = [];
    const checks: string[] = [];
    for (const pass of passes) {
      // More than a pass can send in BENCH_SECONDS, so the worker never runs dry while timed.
      const count = Math.max(2_000, SECONDS * 1_000);
      const batch = randomBytes(3).toString("hex");
      await seedDeliveries(db, { workspaceId: workspace.id, kit, receiverUrl: receiver.url, count, batch });
      receiver.reset();
      const worker = await startWorker(
        redisUrl,
        { app: appUrl, maintenance: maintenanceUrl },
        `${prefix}:${batch}`,
        pass.hostConcurrency,
      );
      cleanups.unshift(() => worker.stop());
      const started = performance.now();
      const stopMeter = startCpuMeter({ [process.pid]: "bench + receiver", [worker.pid]: "worker" });
      await writeOutbox(db, { workspaceId: workspace.id, batch });
      const timed = await drain(db, { batch, count, deadlineMs: SECONDS * 1_000 });
      const cpu = stopMeter();
      const elapsedMs = performance.now() - started;
      // SIGTERM: the worker finishes the postbacks in flight and exits; then everything is counted.
      await worker.stop();
      const [after] = await db.db.execute<{
        p50: number | null;
        p99: number | null;
        failed: number;
        attempts: number;
        twice: number;
      }>(sql`
        select percentile_cont(0.5) within group (order by a.latency_ms) as p50,
               percentile_cont(0.99) within group (order by a.latency_ms) as p99,
               count(*) filter (where a.status_code is distinct from 200)::int as failed,
               count(*)::int as attempts,
               (select count(*)::int from outbound_deliveries
                 where event = ${`bench-${batch}`} and (attempts > 1 or (attempts = 1 and status <> 'delivered'))) as twice
        from delivery_attempts a join outbound_deliveries d on d.id = a.delivery_id
        where d.event = ${`bench-${batch}`}`);
      results.push({
        label: pass.label,
        requests: timed.delivered,
        rps: (timed.delivered / elapsedMs) * 1_000,
        p50: Math.round(Number(after?.p50 ?? 0)),
        p99: Math.round(Number(after?.p99 ?? 0)),
        errors: Number(after?.failed ?? 0),
        non2xx3xx: 0,
        cpu,
      });
      const attempts = Number(after?.attempts ?? 0);
      const exact =
        receiver.hits() === attempts && Number(after?.twice ?? 0) === 0 && Number(after?.failed ?? 0) === 0;
      checks.push(
        `${pass.label}: ${timed.delivered} delivered in ${(elapsedMs / 1_000).toFixed(1)} s; after shutdown ` +
          `${attempts} attempts logged, ${receiver.hits()} requests received → ${exact ? "each delivery sent exactly once" : "MISMATCH"}`,
      );
      if (!exact) process.exitCode = 1;
    }
    report(
      "worker: postback deliveries per second (p50/p99 = HTTP latency of the attempts)",
      baseline,
      results,
    );
    console.log(checks.join("\n"));
  } finally {
    await scratch.dispose();
  }
}

/** Conversions with one delivery each, held back from the relay (relayed_at set) until writeOutbox. */
async function seedDeliveries(
  db: DbClient,
  input: {
    workspaceId: string;
    kit: Awaited<ReturnType<typeof createCampaignKit>>;
    receiverUrl: string;
    count: number;
    batch: string;
  },
): Promise<void> {
  const { workspaceId, kit } = input;
  await db.db.execute(sql`
    with c as (
      insert into conversions (id, workspace_id, hit_id, tx, revenue, status, visitor_id, funnel_id, node_id, page_id,
                               page_kind, traffic_source_id, hit_at, converted_at)
      select gen_random_uuid(), ${workspaceId}, gen_random_uuid(), ${input.batch} || '-' || g, 12.5, 'approved',
             gen_random_uuid(), ${kit.funnelId}, ${kit.nodes.offerA}, ${kit.offerIds[0]}, 'offer', ${kit.trafficSourceId},
             now(), now()
      from generate_series(1, ${input.count}) g
      returning id, tx
    )
    insert into outbound_deliveries (id, workspace_id, conversion_id, revision, traffic_source_id, event, url, relayed_at)
    select gen_random_uuid(), ${workspaceId}, c.id, 1, ${kit.trafficSourceId}, ${`bench-${input.batch}`},
           ${input.receiverUrl} || '/pb?click=' || c.tx || '&payout=12.5', now()
    from c`);
}

/** The deliveries as the tracker leaves them: each its own outbox entry, not relayed yet. */
async function writeOutbox(db: DbClient, input: { workspaceId: string; batch: string }): Promise<void> {
  await db.db.execute(sql`
    update outbound_deliveries set relayed_at = null
    where workspace_id = ${input.workspaceId} and event = ${`bench-${input.batch}`}`);
}

async function drain(
  db: DbClient,
  input: { batch: string; count: number; deadlineMs: number },
): Promise<{ delivered: number }> {
  const deadline = performance.now() + input.deadlineMs;
  for (;;) {
    const [row] = await db.db.execute<{ delivered: number }>(sql`
      select count(*)::int as delivered from outbound_deliveries
      where event = ${`bench-${input.batch}`} and status = 'delivered'`);
    const delivered = Number(row?.delivered ?? 0);
    if (delivered >= input.count || performance.now() > deadline) return { delivered };
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The worker from its production entry point, consuming postbacks only; resolves once it runs. */
function startWorker(
  redisUrl: string,
  dbUrls: { app: string; maintenance: string },
  prefix: string,
  hostConcurrency: number,
): Promise<Child> {
  return startChild(
    process.execPath,
    ["--import", "tsx", `${ROOT}apps/worker/src/main.ts`],
    `${ROOT}apps/worker`,
    {
      DATABASE_URL: dbUrls.app,
      MAINTENANCE_DATABASE_URL: dbUrls.maintenance,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      WORKER_QUEUES: "postbacks",
      WORKER_PORT: "0",
      WORKER_POSTBACK_HOST_CONCURRENCY: String(hostConcurrency),
      HOST: "127.0.0.1",
      OUTBOUND_ALLOW_CIDRS: "127.0.0.0/8",
      LOG_LEVEL: "info",
      NODE_ENV: "production",
    },
    (line) => (line.msg === "worker running" ? "" : null),
  );
}

// Every Redis key under the bench's prefix, removed in one round trip (the bench has no Redis client).
