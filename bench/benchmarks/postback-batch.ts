import { readFileSync } from "node:fs";
import { createDb, newId } from "@hitrail/db";
import { commitConversionBatch, type PlanItem } from "../../packages/conversions/src/index.ts";
import { benchScratch } from "../lib.ts";
import { type Seeded, seed } from "./postback.ts";

// `pnpm bench postback-batch`: the tracker's conversion transaction alone (commitConversionBatch, as
// its conversion writer calls it), in batches of a fixed size, one after another on one connection:
// the CPU its PostgreSQL backend and this process spend per postback. The batch size is fixed, where
// under `pnpm bench postback` it follows the load, and so is the work per batch; CPU time still
// stretches when other processes share the cores (caches, frequency: up to ±15% between runs on a
// loaded machine), so compare two versions alternately, several times.
// BENCH_BATCH (32: about what the tracker forms under load) and BENCH_BATCHES (200) size it.

const BATCH = Number(process.env.BENCH_BATCH ?? 32);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 200);
/** The update run cycles over this many conversions: after its warm-up every postback is an update. */
const UPDATED_HITS = 1_000;

/** User and system CPU of a process from /proc, in ms (clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const fields = (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function postback(seeded: Seeded, hitId: string, tx: string, rev: string): PlanItem {
  return {
    postbackId: newId(),
    hitId,
    visitorId: null,
    command: {
      workspace: { workspaceId: seeded.workspaceId, currency: "USD", sessionTtlSeconds: 345_600 },
      channel: "postback",
      target: { by: "hit", hitId },
      tx,
      revenue: { kind: "value", value: rev },
      statusWord: null,
      rawStatus: null,
      disablePostbacks: false,
      notes: [],
      meta: { method: "GET", ip: "10.1.2.3", params: { hit: hitId, tx, rev }, receivedAt: Date.now() },
    },
  };
}

export async function run(): Promise<void> {
  const scratch = await benchScratch();
  try {
    const seeded = await seed(scratch.dbUrl);
    const client = createDb(scratch.appUrl, { max: 1 });
    scratch.cleanups.unshift(() => client.close(1));
    const [backend] = await client.sql<Array<{ pid: number }>>`select pg_backend_pid() as pid`;
    const pid = Number(backend?.pid);
    const runs = {
      "new conversions by hit": (k: number) =>
        postback(seeded, seeded.offerHits[k % seeded.offerHits.length] as string, `b-${k}`, "1.5"),
      "revenue updates by hit": (k: number) =>
        postback(seeded, seeded.offerHits[k % UPDATED_HITS] as string, "u", String(k)),
    };
    for (const [label, item] of Object.entries(runs)) {
      let refused = 0;
      const batches = async (from: number, count: number) => {
        for (let i = from; i < from + count; i++) {
          const items = Array.from({ length: BATCH }, (_, j) => item(i * BATCH + j));
          const { results } = await commitConversionBatch(client, { items, now: Date.now, newId });
          refused += results.filter((r) => r?.httpStatus !== 200).length;
        }
      };
      // Warm-up: the statements prepared and planned; the updates' conversions created.
      await batches(0, Math.ceil(UPDATED_HITS / BATCH) + 5);
      const backend0 = processCpuMs(pid);
      const own0 = process.cpuUsage();
      const start = performance.now();
      await batches(1_000, BATCHES);
      const wall = performance.now() - start;
      const own = process.cpuUsage(own0);
      const backendMs = processCpuMs(pid) - backend0;
      const n = BATCH * BATCHES;
      console.log(
        `${label}, ${BATCHES} batches of ${BATCH}: PostgreSQL backend ${((backendMs * 1000) / n).toFixed(1)} µs/postback, ` +
          `this process ${((own.user + own.system) / n).toFixed(1)} µs/postback, wall ${((wall * 1000) / n).toFixed(1)} µs/postback` +
          (refused > 0 ? `, ${refused} NOT answered 200` : ""),
      );
      if (refused > 0) process.exitCode = 1;
    }
  } finally {
    await scratch.dispose();
  }
}
