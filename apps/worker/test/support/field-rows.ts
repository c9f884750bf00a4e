import type { Executor } from "@hitrail/db";
import { sql } from "@hitrail/db/testing/sql";

/**
 * A workspace's conversions-by-field rows, hours and days, without zero rows, in a stable order:
 * for comparing what the sweeps and jobs built with what a rebuild from raw rows writes.
 */
export async function storedFieldConversions(db: Executor, workspaceId: string) {
  const read = (
    table: "field_conversion_rollups_hourly" | "field_conversion_rollups_daily",
    at: "hour" | "day",
  ) =>
    db.execute<Record<string, unknown>>(sql`
      select ${sql.raw(at)}::text as at, field_name, field_value, funnel_id::text, node_id::text, page_id::text,
             traffic_source_id::text, event_key, touch_kind::text, conversions, trim_scale(revenue)::text as revenue
      from ${sql.raw(table)}
      where workspace_id = ${workspaceId} and (conversions <> 0 or revenue <> 0)
      order by 1, 2, 3, 4, 5, 6, 7, 8, 9`);
  return {
    hours: [...(await read("field_conversion_rollups_hourly", "hour"))],
    days: [...(await read("field_conversion_rollups_daily", "day"))],
  };
}
