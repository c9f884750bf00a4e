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

/**
 * A workspace's rows by visit tuple, visits and conversions, hours and days, and at conversion time,
 * without zero rows, in a stable order: for comparing what the sweeps and jobs built with what a
 * rebuild writes.
 */
export async function storedTupleRows(db: Executor, workspaceId: string) {
  const read = (table: string, at: "hour" | "day", measures: string) =>
    db.execute<Record<string, unknown>>(sql`
      select ${sql.raw(at)}::text as at, funnel_id::text, node_id::text, page_id::text, traffic_source_id::text,
             country, device_type, os, browser, fields::text, ${sql.raw(measures)}
      from ${sql.raw(table)}
      where workspace_id = ${workspaceId}
      order by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13`);
  const visits =
    "is_bot, visits, unique_node_visits, unique_funnel_visits, entrances, action_clicks, trim_scale(cost)::text as cost";
  const conversions = "event_key, touch_kind::text, conversions, trim_scale(revenue)::text as revenue";
  const live = (rows: Record<string, unknown>[]) =>
    rows.filter((r) =>
      Object.entries(r).some(([k, v]) =>
        ["visits", "unique_node_visits", "unique_funnel_visits", "action_clicks", "conversions"].includes(k)
          ? Number(v) !== 0
          : k === "revenue" && Number(v) !== 0,
      ),
    );
  return {
    visitHours: live([...(await read("visit_tuple_rollups_hourly", "hour", visits))]),
    visitDays: live([...(await read("visit_tuple_rollups_daily", "day", visits))]),
    conversionHours: live([...(await read("conversion_tuple_rollups_hourly", "hour", conversions))]),
    conversionDays: live([...(await read("conversion_tuple_rollups_daily", "day", conversions))]),
    conversionTimeHours: live([...(await read("conversion_time_tuple_rollups_hourly", "hour", conversions))]),
    conversionTimeDays: live([...(await read("conversion_time_tuple_rollups_daily", "day", conversions))]),
    // The same at conversion time without the fields.
    conversionTimePlain: live([
      ...(await db.execute<Record<string, unknown>>(sql`
        select hour::text as at, funnel_id::text, node_id::text, page_id::text, traffic_source_id::text,
               country, device_type, os, browser, ${sql.raw(conversions)}
        from conversion_time_rollups_hourly
        where workspace_id = ${workspaceId}
        order by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11`)),
    ]),
  };
}
