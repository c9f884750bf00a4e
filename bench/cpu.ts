import { readdirSync, readFileSync } from "node:fs";

/**
 * Where the machine's CPU went during a measured run, read from /proc (Linux only; elsewhere the
 * meter reports nothing). A benchmark whose server, database, Redis and load generator share a few
 * cores is bounded by their sum, not by the server alone: these figures say what one request
 * costs each of them, which is what a throughput target has to fit into.
 */

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux architecture Node runs on

interface ProcSnapshot {
  /** pid → [process name, CPU ticks (user + system)] */
  procs: Map<number, [string, number]>;
  /** Machine-wide busy and total ticks across all cores. */
  busy: number;
  total: number;
  cores: number;
  at: number;
}

export interface CpuUse {
  /** Group label → CPU milliseconds spent during the window. */
  groups: Map<string, number>;
  /** Process id → CPU milliseconds it spent during the window. */
  byPid: Map<number, number>;
  /** Share of the whole machine (all cores) that was busy. */
  machineBusy: number;
  cores: number;
  wallMs: number;
}

function readProc(): ProcSnapshot | null {
  let lines: string[];
  try {
    lines = readFileSync("/proc/stat", "utf8").split("\n");
  } catch {
    return null;
  }
  const statLine = lines[0] ?? "";
  // cpu user nice system idle iowait irq softirq steal …
  const f = statLine.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const procs = new Map<number, [string, number]>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const text = readFileSync(`/proc/${pid}/stat`, "utf8");
      // The name is in parentheses and may hold spaces; the fields after it are fixed.
      const close = text.lastIndexOf(")");
      const name = text.slice(text.indexOf("(") + 1, close);
      const rest = text.slice(close + 2).split(" ");
      procs.set(pid, [name, Number(rest[11]) + Number(rest[12])]);
    } catch {
      // exited meanwhile
    }
  }
  const cores = lines.filter((l) => /^cpu\d/.test(l)).length;
  return { procs, busy: total - idle, total, cores, at: Date.now() };
}

/**
 * Starts measuring. `labels` names processes by pid (the server under test, the benchmark itself);
 * every other process is grouped by its name (postgres, redis-server…).
 */
export function startCpuMeter(labels: Record<number, string>): () => CpuUse | null {
  const before = readProc();
  // A process that exits before the window closes (the import's CLI, a pool's PostgreSQL backend)
  // would take its CPU with it: every process's ticks are sampled through the window and the last
  // reading of each is kept.
  const seen = new Map<number, [string, number]>(before?.procs);
  const sample = (snapshot: ProcSnapshot | null) => {
    for (const [pid, entry] of snapshot?.procs ?? []) seen.set(pid, entry);
  };
  const timer = setInterval(() => sample(readProc()), 1_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    const after = readProc();
    if (!before || !after) return null;
    sample(after);
    const groups = new Map<string, number>();
    const byPid = new Map<number, number>();
    for (const [pid, [name, ticks]] of seen) {
      const spent = ticks - (before.procs.get(pid)?.[1] ?? 0);
      if (spent <= 0) continue;
      byPid.set(pid, (spent * 1000) / TICKS_PER_SECOND);
      const label = labels[pid] ?? name;
      groups.set(label, (groups.get(label) ?? 0) + (spent * 1000) / TICKS_PER_SECOND);
    }
    return {
      groups,
      byPid,
      machineBusy: (after.busy - before.busy) / Math.max(1, after.total - before.total),
      cores: after.cores,
      wallMs: after.at - before.at,
    };
  };
}

/** One line per group: CPU µs per request and share of one core, biggest first. */
export function describeCpu(use: CpuUse, requests: number, minShare = 0.02): string {
  const rows = [...use.groups]
    .map(([label, ms]) => ({ label, ms, share: ms / use.wallMs }))
    .filter((r) => r.share >= minShare)
    .sort((a, b) => b.ms - a.ms);
  const perRequest = (ms: number) => `${Math.round((ms * 1000) / Math.max(1, requests))} µs/req`;
  const total = rows.reduce((a, r) => a + r.ms, 0);
  return [
    `  machine ${(use.machineBusy * 100).toFixed(0)}% busy of ${use.cores} cores; CPU per request ${perRequest(total)} in all:`,
    ...rows.map(
      (r) =>
        `    ${r.label.padEnd(28)} ${perRequest(r.ms).padStart(12)}  ${(r.share * 100).toFixed(0).padStart(4)}% of a core`,
    ),
  ].join("\n");
}
