import { sql } from "drizzle-orm";
import type { Executor } from "../client.ts";

export interface PartitionUpkeep {
  /** Monthly hit partitions created. */
  made: number;
  /** Daily postback-log partitions created. */
  logMade: number;
  /** Postback-log days dropped for being older than the retention. */
  logDropped: number;
}

/**
 * Monthly hit partitions one month back and three ahead, daily postback-log partitions a day back
 * and three ahead, and the postback log's retention: days older than `postbackLogRetentionDays`
 * are dropped whole. Idempotent (the SQL functions of the migrations do the work).
 */
export async function maintainPartitions(
  db: Executor,
  input: { postbackLogRetentionDays: number },
): Promise<PartitionUpkeep> {
  const [row] = await db.execute<{ made: number; log_made: number; log_dropped: number }>(
    sql`select hitrail_ensure_hit_partitions(1, 3) as made,
               hitrail_ensure_postback_log_partitions(1, 3) as log_made,
               hitrail_drop_postback_log_partitions(${input.postbackLogRetentionDays}) as log_dropped`,
  );
  return {
    made: Number(row?.made ?? 0),
    logMade: Number(row?.log_made ?? 0),
    logDropped: Number(row?.log_dropped ?? 0),
  };
}

/** How many monthly hit partitions exist from this month on (`now`'s month, UTC). */
export async function hitPartitionsAhead(db: Executor, now: Date = new Date()): Promise<number> {
  const from = `hits_y${now.toISOString().slice(0, 7).replace("-", "m")}`;
  const [row] = await db.execute<{ n: number }>(
    sql`select count(*)::int as n from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'hits'::regclass and c.relname >= ${from}`,
  );
  return Number(row?.n ?? 0);
}
