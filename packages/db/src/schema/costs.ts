import { bigint, index, integer, numeric, pgEnum, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { eventWorkspaceRef, workspaceRef } from "./accounts.ts";
import { createdAt, id, MONEY, ROLLUP_MONEY } from "./columns.ts";
import { visitRollupKey } from "./rollups.ts";

// Cost updates (docs/costs.md). An update spreads a cost over the entrance visits of a scope and a
// range; each visit's share is kept per hit, so undoing an update brings back exactly what it
// covered. A visit's cost is the share of the latest update not undone that covers it, else what
// its click carried (hits.cost). cost_rollups_hourly holds the difference per rollup key so reports
// add it to the visit rollups without reading hits.

export const costMode = pgEnum("cost_mode", ["total", "per_visit"]);
export const costOrigin = pgEnum("cost_origin", ["api", "csv", "cli"]);

export const costUpdates = pgTable(
  "cost_updates",
  {
    id: id(),
    workspaceId: workspaceRef(),
    /** Strict order of updates in a workspace: the later one wins where two cover the same visit. */
    seq: bigint("seq", { mode: "number" }).generatedAlwaysAsIdentity().notNull(),
    /** Scope: every set column must match a visit; at least one is set. */
    trafficSourceId: uuid("traffic_source_id"),
    funnelId: uuid("funnel_id"),
    /** A tracking field of the visit (`campaign` is the source's campaign parameter). */
    fieldName: text("field_name"),
    fieldValue: text("field_value"),
    /** Range as the user gave it, in the workspace's zone at the time ("2026-05-01T00:00"). */
    localStart: text("local_start").notNull(),
    localEnd: text("local_end").notNull(),
    timeZone: text("time_zone").notNull(),
    /** The same range in UTC: [startsAt, endsAt). */
    startsAt: timestamp("starts_at", { withTimezone: true, mode: "date" }).notNull(),
    endsAt: timestamp("ends_at", { withTimezone: true, mode: "date" }).notNull(),
    mode: costMode("mode").notNull(),
    /** The total, or the price of one visit. */
    amount: numeric("amount", MONEY).notNull(),
    /** Visits it was spread over, and what they got in all (the total; amount × visits per visit). */
    visits: integer("visits").notNull(),
    allocated: numeric("allocated", ROLLUP_MONEY).notNull(),
    /** What the same visits carried before (their clicks' cost or earlier updates), for the list. */
    replacedCost: numeric("replaced_cost", ROLLUP_MONEY).notNull(),
    origin: costOrigin("origin").notNull(),
    /** The uploaded file's name and line, for updates from a CSV. */
    fileName: text("file_name"),
    fileLine: integer("file_line"),
    createdByUserId: uuid("created_by_user_id"),
    createdByApiKeyId: uuid("created_by_api_key_id"),
    createdAt: createdAt(),
    undoneAt: timestamp("undone_at", { withTimezone: true, mode: "date" }),
    undoneByUserId: uuid("undone_by_user_id"),
    undoneByApiKeyId: uuid("undone_by_api_key_id"),
  },
  (t) => [index("cost_updates_workspace_seq_idx").on(t.workspaceId, t.seq)],
);

/**
 * Each visit's share of each update, kept after the update is replaced or undone: the latest live
 * update's share is the visit's cost. No foreign key to hits (partitioned, immutable).
 */
export const costAllocations = pgTable(
  "cost_allocations",
  {
    workspaceId: eventWorkspaceRef(),
    updateId: uuid("update_id")
      .notNull()
      .references(() => costUpdates.id, { onDelete: "cascade" }),
    hitId: uuid("hit_id").notNull(),
    /** The visit's time (hits.created_at): reports and rebuilds select by it. */
    hitAt: timestamp("hit_at", { withTimezone: true, mode: "date" }).notNull(),
    amount: numeric("amount", MONEY).notNull(),
  },
  (t) => [
    index("cost_allocations_workspace_hit_at_idx").on(t.workspaceId, t.hitAt),
    index("cost_allocations_update_idx").on(t.updateId),
  ],
);

/**
 * Per hour and the visit rollups' dimensions: how much the updated visits' cost differs from what
 * their clicks carried (`cost_delta`, added to hit_rollups_hourly.cost) and how many visits that is.
 * Rebuilt for an update's hours whenever it is applied or undone.
 */
export const costRollupsHourly = pgTable(
  "cost_rollups_hourly",
  {
    ...visitRollupKey(),
    visits: integer("visits").notNull(),
    costDelta: numeric("cost_delta", ROLLUP_MONEY).notNull(),
  },
  (t) => [index("cost_rollups_hourly_workspace_hour_idx").on(t.workspaceId, t.hour)],
);
