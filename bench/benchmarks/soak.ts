import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import type autocannon from "autocannon";
import { benchScratch, load, startTrackerProcess } from "../lib.ts";
import { seed } from "./postback.ts";

// `pnpm bench soak`: mixed load on the real tracker for BENCH_SECONDS (default 300): three entrance
// clicks to one postback by hit (a new conversion each), at 64 connections, while the tracker's
// resident memory is sampled every few seconds. Issue #21: RSS ≤ 250 MB after 5 minutes of mixed
// load; the peak is what a container limit must allow for.

const CONNECTIONS = 64;
const SAMPLE_MS = 5_000;
const TARGET_MB = 250;
const UA =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";

/** Resident set size of a process in MB, from /proc (null where there is none). */
async function rssMb(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
}

/** The status of one GET (node:http, which lets the Host header through; fetch does not). */
function status(base: string, pathAndQuery: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(pathAndQuery, base), { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

export async function run(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 300);
  const scratch = await benchScratch();
  const { tag, dbUrl, appUrl, redisUrl, prefix, cleanups } = scratch;
  const dir = await mkdtemp(path.join(tmpdir(), "hitrail-bench-soak-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  try {
    const seeded = await seed(dbUrl);
    const tracker = await startTrackerProcess({
      DATABASE_URL: appUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      BASE_DOMAIN: "bench.localhost",
    });
    cleanups.unshift(() => tracker.stop());

    // autocannon runs in a worker thread: the per-request function lives in a file it can require.
    const file = path.join(dir, "mixed.cjs");
    await writeFile(
      file,
      `const hits = ${JSON.stringify(seeded.offerHits)};
let n = 0;
module.exports = function (req) {
  const i = n++;
  req.path = i % 4 === 3
    ? "/pb/?hit=" + hits[i % hits.length] + "&tx=${tag}-s-" + i + "&rev=1.5"
    : "/fts/${seeded.funnelId}?ts=${seeded.trafficSourceId}&external=s" + i + "&campaign=soak&cost=0.02&zone=z" + (i % 50);
  return req;
};
`,
    );
    // One of each first: a mix that answers errors would measure nothing.
    const headers = { host: seeded.host, "user-agent": UA, "accept-language": "en-US,en;q=0.9" };
    const click = await status(
      tracker.url,
      `/fts/${seeded.funnelId}?ts=${seeded.trafficSourceId}&external=probe&zone=z1`,
      headers,
    );
    const pb = await status(tracker.url, `/pb/?hit=${seeded.offerHits[0]}&tx=${tag}-probe&rev=1`, headers);
    if (click !== 302 || pb !== 200) throw new Error(`probe: click answered ${click}, postback ${pb}`);
    const started = await rssMb(tracker.pid);
    const samples: Array<{ at: number; mb: number }> = [];
    const t0 = Date.now();
    const timer = setInterval(() => {
      void rssMb(tracker.pid).then((mb) => {
        if (mb !== null) samples.push({ at: (Date.now() - t0) / 1000, mb });
      });
    }, SAMPLE_MS);
    let result: Awaited<ReturnType<typeof load>>;
    try {
      result = await load({
        url: tracker.url,
        label: "mixed: 3 clicks : 1 postback",
        connections: CONNECTIONS,
        durationSeconds: seconds,
        headers,
        requests: [{ setupRequest: file } as unknown as autocannon.Request],
        processes: { [tracker.pid]: "tracker" },
      });
    } finally {
      clearInterval(timer);
    }
    const last = (await rssMb(tracker.pid)) ?? samples.at(-1)?.mb ?? null;
    await tracker.stop();

    const peak = Math.max(...samples.map((s) => s.mb), last ?? 0);
    const every = Math.max(1, Math.round(samples.length / 10));
    const timeline = samples
      .filter((_, i) => i % every === 0)
      .map((s) => `${s.at.toFixed(0)}s ${s.mb.toFixed(0)}`)
      .join(", ");
    // The target is the RSS after the load (`last`); the peak is reported beside it.
    const met = last !== null && last <= TARGET_MB;
    console.log(
      [
        `soak: ${seconds} s of mixed load at ${CONNECTIONS} connections: ${result.requests} requests, ${result.rps.toFixed(0)}/s, p99 ${result.p99} ms, ${result.errors} errors, ${result.non2xx3xx} not 2xx (the clicks' 302s, 3 in 4)`,
        `tracker RSS (MB): at start ${started?.toFixed(0) ?? "?"}, after the load ${last?.toFixed(0) ?? "?"} (target ≤ ${TARGET_MB} MB) → ${met ? "met" : "MISSED"}; peak ${peak.toFixed(0)}${peak > TARGET_MB ? " (above the target)" : ""}`,
        `samples (every ${SAMPLE_MS / 1000} s, MB): ${timeline}`,
      ].join("\n"),
    );
  } finally {
    await scratch.dispose();
  }
}
