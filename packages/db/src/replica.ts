import type postgres from "postgres";
import type { DbClient } from "./client.ts";

// Read-replica routing (docs/operations.md, "Read replica"). The api sends its read-only procedures
// to a streaming replica when one is configured, fresh enough, and has replayed the caller's own last
// write; everything else reads from the primary. A WAL position (pg_lsn, "16/B374D848") is handled as
// a bigint: its two hex halves are the high and low 32 bits.

export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!match) throw new Error(`not a WAL position: ${text}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** The primary's WAL position now: once a transaction has committed, at or past its commit record. */
export async function currentWalLsn(primary: postgres.Sql): Promise<bigint> {
  const [row] = await primary<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`;
  if (!row) throw new Error("pg_current_wal_lsn() returned no row");
  return parseLsn(row.lsn);
}

export interface ReplicaLag {
  /** How far the replica has replayed. */
  replayLsn: bigint;
  /** WAL the primary had written, when asked just before, that the replica had not replayed (bytes). */
  lagBytes: bigint;
  /**
   * 0 when the replica had replayed everything the primary had written when asked; otherwise the age
   * of the newest transaction it has replayed (an upper bound: it counts idle time before the gap).
   */
  lagSeconds: number;
}

export class NotAReplicaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotAReplicaError";
  }
}

/**
 * Measures the replica against the primary: the primary's position first, then the replica's replay
 * position, so "replayed ≥ primary's" means fully caught up at that moment. Needs no privilege beyond
 * connecting (pg_stat_replication and pg_stat_wal_receiver hide their details from the apps' role).
 */
export async function measureReplicaLag(primary: postgres.Sql, replica: postgres.Sql): Promise<ReplicaLag> {
  const primaryLsn = await currentWalLsn(primary);
  const [row] = await replica<{ inRecovery: boolean; replayLsn: string | null; ageSeconds: number | null }[]>`
    select pg_is_in_recovery() as "inRecovery",
           pg_last_wal_replay_lsn()::text as "replayLsn",
           extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 as "ageSeconds"`;
  if (!row?.inRecovery) throw new NotAReplicaError("the read database is not in recovery (not a standby)");
  if (!row.replayLsn) throw new NotAReplicaError("the read database reports no WAL replay position");
  const replayLsn = parseLsn(row.replayLsn);
  const caughtUp = replayLsn >= primaryLsn;
  return {
    replayLsn,
    lagBytes: caughtUp ? 0n : primaryLsn - replayLsn,
    lagSeconds: caughtUp ? 0 : Math.max(0, row.ageSeconds ?? Number.POSITIVE_INFINITY),
  };
}

/** Why a read that could have gone to the replica went to the primary. */
export type FallbackReason = "lagging" | "unreachable" | "not_a_replica";

export type ReplicaState =
  | ({ kind: "ok"; checkedAt: number } & ReplicaLag)
  | ({ kind: "lagging"; checkedAt: number } & ReplicaLag)
  | { kind: "unreachable" | "not_a_replica"; checkedAt: number; error: string };

export type ReadRoute =
  | { target: "replica"; client: DbClient }
  | { target: "primary"; client: DbClient; reason: FallbackReason | "read_your_writes" };

export interface ReadRouterOptions {
  primary: DbClient;
  replica: DbClient;
  /** Beyond this lag (seconds) reads go to the primary. */
  maxLagSeconds: number;
  /** How long one measurement of the replica stands (ms): the cost is two tiny queries per period. */
  stateTtlMs?: number;
  /** Called when the replica's state changes kind (ok ↔ lagging ↔ unreachable), for the log. */
  onStateChange?: (state: ReplicaState, previous: ReplicaState | null) => void;
  now?: () => number;
}

/**
 * Picks the database of each read. The replica's state is measured at most once per `stateTtlMs`
 * (concurrent reads share one measurement) and read from memory otherwise, so a read costs nothing
 * extra. The cached replay position only ever understates the replica's progress, which keeps the
 * read-your-writes check sound: a stale cache sends a read to the primary, never to an old replica.
 */
export class ReadRouter {
  readonly primary: DbClient;
  readonly replica: DbClient;
  readonly maxLagSeconds: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly onStateChange: ReadRouterOptions["onStateChange"];
  private state: ReplicaState | null = null;
  private measuring: Promise<ReplicaState> | null = null;

  constructor(opts: ReadRouterOptions) {
    this.primary = opts.primary;
    this.replica = opts.replica;
    this.maxLagSeconds = opts.maxLagSeconds;
    this.ttlMs = opts.stateTtlMs ?? 1_000;
    this.now = opts.now ?? Date.now;
    this.onStateChange = opts.onStateChange;
  }

  /** The last measured state, measuring first when it is older than the TTL. */
  async currentState(): Promise<ReplicaState> {
    const state = this.state;
    if (state && this.now() - state.checkedAt < this.ttlMs) return state;
    return this.measure();
  }

  /** Measures now (one measurement at a time; callers meanwhile share it). */
  measure(): Promise<ReplicaState> {
    this.measuring ??= this.measureOnce().finally(() => {
      this.measuring = null;
    });
    return this.measuring;
  }

  private async measureOnce(): Promise<ReplicaState> {
    let next: ReplicaState;
    try {
      const lag = await measureReplicaLag(this.primary.sql, this.replica.sql);
      next = { kind: lag.lagSeconds > this.maxLagSeconds ? "lagging" : "ok", checkedAt: this.now(), ...lag };
    } catch (error) {
      next =
        error instanceof NotAReplicaError
          ? { kind: "not_a_replica", checkedAt: this.now(), error: error.message }
          : { kind: "unreachable", checkedAt: this.now(), error: firstLine(error) };
    }
    this.setState(next);
    return next;
  }

  /**
   * A read failed on the replica for a reason of the replica's (connection lost, query cancelled by
   * replay): reads go to the primary until the next measurement says otherwise.
   */
  markUnreachable(error: unknown): void {
    this.setState({ kind: "unreachable", checkedAt: this.now(), error: firstLine(error) });
  }

  private setState(next: ReplicaState): void {
    const previous = this.state;
    this.state = next;
    if (previous?.kind !== next.kind) this.onStateChange?.(next, previous);
  }

  /**
   * Where a read goes. `afterLsn` is the caller's own last write (null: none recent): the replica
   * serves it only once it has replayed past that position.
   */
  async route(afterLsn: bigint | null): Promise<ReadRoute> {
    const state = await this.currentState();
    if (state.kind !== "ok") return { target: "primary", client: this.primary, reason: state.kind };
    if (afterLsn !== null && state.replayLsn < afterLsn) {
      // The cache may simply be older than the write; one fresh look before giving the read away.
      const fresh = await this.measure();
      if (fresh.kind !== "ok") return { target: "primary", client: this.primary, reason: fresh.kind };
      if (fresh.replayLsn < afterLsn)
        return { target: "primary", client: this.primary, reason: "read_your_writes" };
    }
    return { target: "replica", client: this.replica };
  }
}

/**
 * Errors that say the replica, not the query, failed: a lost or refused connection, a server shutting
 * down, or a query cancelled because replay needed the rows it was reading (40001 on a standby). A
 * read that fails so is safe to run again on the primary.
 */
export function isReplicaFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") {
      if (/^(08|57P)/.test(code) || code === "40001") return true;
      if (/^(ECONN|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE)/.test(code)) return true;
      if (code === "CONNECTION_CLOSED" || code === "CONNECTION_ENDED" || code === "CONNECT_TIMEOUT")
        return true;
      if (code === "CONNECTION_DESTROYED") return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

function firstLine(error: unknown): string {
  const message =
    error instanceof Error ? error.message || String((error as { code?: unknown }).code) : String(error);
  return message.split("\n")[0] ?? "";
}
