import { spawn } from "node:child_process";
import { once } from "node:events";
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { createCampaignKit, createWorkspace } from "@hitrail/db";
import { sql } from "@hitrail/db/testing/sql";
import { createLogger } from "@hitrail/observability";
import { ConversionWriter } from "../../apps/tracker/src/conversions/conversion-writer.ts";
import { describeCpu, startCpuMeter } from "../cpu.ts";
import { benchScratch } from "../lib.ts";

// `pnpm bench import` (BENCH_ROWS=N, default 1,000,000): a conversion import of N rows, one new
// conversion per row by hit ID, run by the real CLI (`hitrail conversions import`) in its own process
// so its peak RSS is its own; then the postback path's group-commit writer (the tracker's
// ConversionWriter, no HTTP) on 20,000 further hits, for the per-conversion cost beside it.
// Target: 1,000,000 rows in ≤ 60 s with memory flat.

const root = fileURLToPath(new URL("../../", import.meta.url));

export async function run(): Promise<void> {
  const rows = Math.max(1, Number(process.env.BENCH_ROWS ?? 1_000_000));
  const postbacks = Math.min(20_000, Math.max(1_000, Math.round(rows / 10)));
  const scratch = await benchScratch();
  const dir = mkdtempSync(join(tmpdir(), "hitrail-bench-import-"));
  try {
    const { db } = scratch;
    const { workspace } = await createWorkspace(db.db, {
      name: "Import bench",
      slug: `bench-${scratch.tag}`,
      baseDomain: "bench.localhost",
    });
    const kit = await createCampaignKit(db.db, {
      workspaceId: workspace.id,
      landerUrl: "https://pages.example/l",
      offerUrls: ["https://offers.example/a?c={hit}", "https://offers.example/b?c={hit}"],
    });
    const total = rows + postbacks;
    console.log(`building ${total.toLocaleString()} visits (lander → offer)`);
    await db.sql`select hitrail_ensure_hit_partitions(2, 1)`;
    const uuid7 = (ts: string, seed: string) =>
      `(lpad(to_hex((extract(epoch from ${ts}) * 1000)::bigint), 12, '0') || '7' || substr(md5(${seed}), 1, 3) || '8' || substr(md5(${seed}), 4, 15))::uuid`;
    const start = Date.now() - 3 * 86_400_000;
    for (let from = 0; from < total; from += 250_000) {
      const to = Math.min(total, from + 250_000);
      await db.db.execute(sql`
        insert into hits (id, workspace_id, visitor_id, funnel_id, node_id, page_id, page_kind, prev_hit_id, created_at)
        select ${sql.raw(uuid7("v.at", "'l' || v.i"))}, ${workspace.id}, ${sql.raw(uuid7("v.at", "'v' || v.i"))}, ${kit.funnelId},
               ${kit.nodes.lander}, ${kit.landerId}, 'lander', null, v.at
        from (select i, to_timestamp(${start / 1000} + i * 0.1) as at from generate_series(${from}::int, ${to - 1}::int) i) v`);
      await db.db.execute(sql`
        insert into hits (id, workspace_id, visitor_id, funnel_id, node_id, page_id, page_kind, prev_hit_id, created_at)
        select ${sql.raw(uuid7("v.at", "'o' || v.i"))}, ${workspace.id}, ${sql.raw(uuid7("v.lat", "'v' || v.i"))}, ${kit.funnelId},
               ${kit.nodes.offerA}, ${kit.offerIds[0]}, 'offer', ${sql.raw(uuid7("v.lat", "'l' || v.i"))}, v.at
        from (select i, to_timestamp(${start / 1000} + i * 0.1) as lat, to_timestamp(${start / 1000} + i * 0.1 + 30) as at
              from generate_series(${from}::int, ${to - 1}::int) i) v`);
    }
    await db.sql`analyze hits`;

    // The file: the first `rows` offer hits, in the order a network would list them.
    const file = join(dir, "conversions.csv");
    const out = createWriteStream(file);
    out.write("clickid,payout,txid\n");
    const cursor =
      db.sql`select id from hits where page_kind = 'offer' order by created_at limit ${rows}`.cursor(10_000);
    let written = 0;
    for await (const batch of cursor) {
      let text = "";
      for (const r of batch as Array<{ id: string }>)
        text += `${r.id},${(1 + (written++ % 97) / 10).toFixed(2)},T${written}\n`;
      if (!out.write(text)) await once(out, "drain");
    }
    out.end();
    await once(out, "finish");

    console.log(`importing ${rows.toLocaleString()} rows with hitrail conversions import`);
    const child = spawn(
      // node itself (tsx as a loader), so the process measured is the one importing.
      process.execPath,
      [
        // BENCH_CPU_PROF=dir: a V8 CPU profile of the importing process, for finding where its time goes.
        ...(process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
        "--import",
        "tsx",
        "apps/cli/src/main.ts",
        "conversions",
        "import",
        file,
        "--workspace",
        workspace.slug,
        "--json",
        // BENCH_IMPORT_LANES=n: the import's lanes (default the CLI's own).
        ...(process.env.BENCH_IMPORT_LANES ? ["--lanes", process.env.BENCH_IMPORT_LANES] : []),
      ],
      {
        cwd: root,
        env: { PATH: process.env.PATH, DATABASE_URL: scratch.appUrl, LOG_LEVEL: "silent" },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    // The machine is shared: PostgreSQL's backends serving this run's database are told apart from
    // the other databases' (found as they connect), so the database's cost per row is this import's.
    const labels: Record<number, string> = { [child.pid ?? 0]: "import CLI", [process.pid]: "bench" };
    const stopCpu = startCpuMeter(labels);
    const dbName = new URL(scratch.appUrl).pathname.slice(1);
    const backends = setInterval(() => {
      db.sql<Array<{ pid: number }>>`select pid from pg_stat_activity where datname = ${dbName}`
        .then((rows) => {
          for (const r of rows) labels[r.pid] = "postgres (this database)";
        })
        .catch(() => {});
    }, 300);
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    let peakKb = 0;
    // Resident memory over time: flat means the second half of the run peaks where the first did.
    const rss: number[] = [];
    const sampler = setInterval(() => {
      // Peak resident memory of the importing process (VmHWM), however it ends.
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
        const hwm = /VmHWM:\s+(\d+)/.exec(status);
        if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
        const now = /VmRSS:\s+(\d+)/.exec(status);
        if (now) rss.push(Number(now[1]));
      } catch {}
    }, 200);
    const [code] = (await once(child, "exit")) as [number];
    clearInterval(sampler);
    clearInterval(backends);
    const cpu = stopCpu();
    if (code !== 0) throw new Error(`the import exited with ${code}`);
    const result = JSON.parse(stdout) as {
      rows: number;
      created: number;
      refused: number;
      seconds: number;
      rowsSeconds: number;
    };
    if (result.created !== rows)
      throw new Error(`expected ${rows} conversions created, got ${JSON.stringify(result)}`);

    // The postback path on fresh hits, for the per-conversion cost beside the import's.
    const fresh = await db.sql<
      Array<{ id: string }>
    >`select id from hits where page_kind = 'offer' order by created_at offset ${rows} limit ${postbacks}`;
    const writer = new ConversionWriter(
      db,
      createLogger({ name: "bench-import", level: "silent" }),
      Date.now,
      {
        maxBatch: 256,
        maxInFlight: 2,
      },
    );
    const t0 = performance.now();
    await Promise.all(
      fresh.map((r, i) =>
        writer.submit({
          postbackId: crypto.randomUUID(),
          hitId: r.id,
          visitorId: null,
          command: {
            workspace: { workspaceId: workspace.id, currency: "USD", sessionTtlSeconds: 345_600 },
            channel: "postback",
            target: { by: "hit", hitId: r.id },
            tx: `P${i}`,
            revenue: { kind: "value", value: "1" },
            statusWord: null,
            rawStatus: null,
            disablePostbacks: true,
            notes: [],
            meta: { method: "GET", ip: null, params: {}, receivedAt: Date.now() },
          },
        }),
      ),
    );
    const pbSeconds = (performance.now() - t0) / 1000;

    // The floor: the same file COPYed into a bare table (no rules, no indexes, no reads), the least
    // any import of these rows can cost the database.
    await db.sql`create unlogged table bench_import_floor (clickid uuid, payout numeric, txid text)`;
    const f0 = performance.now();
    const copy = await db.sql`copy bench_import_floor from stdin with (format csv, header true)`.writable();
    await pipeline(createReadStream(file), copy);
    const floorSeconds = (performance.now() - f0) / 1000;

    const perRow = (result.seconds * 1e6) / rows;
    const perPb = (pbSeconds * 1e6) / fresh.length;
    console.log("");
    console.log("| path | conversions | seconds | per second | µs each | peak RSS |");
    console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
    console.log(
      `| import (CLI, ${rows.toLocaleString()} rows) | ${result.created.toLocaleString()} | ${result.seconds.toFixed(1)} | ${Math.round(rows / result.seconds).toLocaleString()} | ${perRow.toFixed(0)} | ${(peakKb / 1024).toFixed(0)} MB |`,
    );
    console.log(
      `| postback group commit (no HTTP) | ${fresh.length.toLocaleString()} | ${pbSeconds.toFixed(1)} | ${Math.round(fresh.length / pbSeconds).toLocaleString()} | ${perPb.toFixed(0)} | — |`,
    );
    console.log(
      `| floor: bare COPY of the same file | ${rows.toLocaleString()} | ${floorSeconds.toFixed(1)} | ${Math.round(rows / floorSeconds).toLocaleString()} | ${((floorSeconds * 1e6) / rows).toFixed(0)} | — |`,
    );
    if (cpu)
      console.log(
        `where the CPU went during the import:\n${describeCpu(cpu, rows).replaceAll("request", "row").replaceAll("µs/req", "µs/row")}`,
      );
    const half = Math.floor(rss.length / 2);
    const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
    console.log(
      `resident memory: peak ${mb(Math.max(0, ...rss.slice(0, half)))} in the first half of the run, ${mb(Math.max(0, ...rss.slice(half)))} in the second`,
    );
    console.log(
      `of which applying the rows, each batch settling its own report rollups: ${result.rowsSeconds.toFixed(1)} s (${Math.round(rows / result.rowsSeconds).toLocaleString()} rows/s); after the last row: ${(result.seconds - result.rowsSeconds).toFixed(1)} s`,
    );
    console.log(
      `target: 1,000,000 rows in ≤ 60 s → ${rows >= 1_000_000 ? (result.seconds <= 60 ? "met" : "NOT met") : `(ran ${rows.toLocaleString()} rows; projected ${(perRow).toFixed(0)} s per million)`}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await scratch.dispose();
  }
}
