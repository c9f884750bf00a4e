import { sql } from "drizzle-orm";
import type { Executor } from "../client.ts";

export interface OutboxBacklog {
  /** Outbox rows not yet handed to BullMQ (every workspace). */
  pending: number;
  /** Age in seconds of the oldest of them; 0 when there are none. */
  oldestSeconds: number;
}

/**
 * The relay's backlog, across workspaces (an operator's view: the worker's /metrics and `hitrail
 * doctor`). Served by the partial index on unrelayed rows, so it stays cheap however large the
 * relayed history is.
 */
export async function outboxBacklog(db: Executor): Promise<OutboxBacklog> {
  const [row] = await db.execute<{ pending: number; oldest: number | null }>(sql`
    select count(*)::int as pending,
           coalesce(extract(epoch from (now() - min(created_at))), 0)::float8 as oldest
    from outbox where relayed_at is null`);
  return { pending: Number(row?.pending ?? 0), oldestSeconds: Math.max(0, Number(row?.oldest ?? 0)) };
}
