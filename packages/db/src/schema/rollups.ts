import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  text,
  timestamp,
  unique,
  uuid,
} from "drizzle-orm/pg-core";
import { eventWorkspaceRef } from "./accounts.ts";
import { pgSnapshot, ROLLUP_MONEY } from "./columns.ts";
import { touchKind } from "./conversions.ts";
import { pageKind } from "./hits.ts";

// Reports read these tables, never the raw rows. Hours are UTC and are the hour the *visit* happened
// in (conversions.hit_at, touches.hit_at), so revenue that arrives days late lands in the hour of
// the click that earned it (the conversion_time_* rollups alone file them in the hour they
// happened, for reports credited at conversion time). Dimensions that may be absent (no page, no
// traffic source, unknown country) are NULL, and the unique keys treat NULLs as equal (PostgreSQL 15+).

const updatedAt = () => timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow();

/**
 * The dimensions of a conversion rollup row after its time: those of the credited visit (the
 * converting hit for `direct`, the touched hit for `assisted`).
 */
const conversionDimensions = () => ({
  funnelId: uuid("funnel_id").notNull(),
  nodeId: uuid("node_id").notNull(),
  pageId: uuid("page_id"),
  trafficSourceId: uuid("traffic_source_id"),
  country: text("country"),
  deviceType: text("device_type"),
  os: text("os"),
  browser: text("browser"),
});

/** The event and counts of a conversion rollup row. */
const conversionMeasures = () => ({
  eventKey: text("event_key").notNull(),
  touchKind: touchKind("touch_kind").notNull(),
  conversions: integer("conversions").notNull().default(0),
  revenue: numeric("revenue", ROLLUP_MONEY).notNull().default("0"),
  updatedAt: updatedAt(),
});

type ConversionKeyColumns = Record<
  | "workspaceId"
  | "funnelId"
  | "nodeId"
  | "pageId"
  | "trafficSourceId"
  | "country"
  | "deviceType"
  | "os"
  | "browser"
  | "eventKey"
  | "touchKind",
  AnyPgColumn
>;

/**
 * The unique key of a conversion rollup: its time (an hour or a UTC day) and every dimension, NULLs
 * equal; by tuple, the fields' hash before the event, as the migrations made them.
 */
const conversionKey = (name: string, t: ConversionKeyColumns, time: AnyPgColumn, fieldsHash?: AnyPgColumn) =>
  unique(name)
    .on(
      t.workspaceId,
      time,
      t.funnelId,
      t.nodeId,
      t.pageId,
      t.trafficSourceId,
      t.country,
      t.deviceType,
      t.os,
      t.browser,
      ...(fieldsHash ? [fieldsHash] : []),
      t.eventKey,
      t.touchKind,
    )
    .nullsNotDistinct();

/**
 * Conversions and revenue per hour and dimensions, kept incrementally: each conversion change adds
 * the difference between its new and its last applied contribution (see conversion_rollup_state).
 * `direct` rows credit the converting page; `assisted` rows credit the pages visited before it.
 */
export const conversionRollupsHourly = pgTable(
  "conversion_rollups_hourly",
  {
    workspaceId: eventWorkspaceRef(),
    hour: timestamp("hour", { withTimezone: true, mode: "date" }).notNull(),
    ...conversionDimensions(),
    ...conversionMeasures(),
  },
  (t) => [conversionKey("conversion_rollups_hourly_key", t, t.hour)],
);

/** One row of a conversion's contribution to conversion_rollups_hourly, as the ledger stores it. */
export interface RollupContribution {
  /** ISO hour, UTC, e.g. "2026-05-17T12:00:00.000Z". */
  hour: string;
  funnelId: string;
  nodeId: string;
  pageId: string | null;
  trafficSourceId: string | null;
  /** Absent in ledger rows written before these dimensions existed: read as null. */
  country?: string | null;
  deviceType?: string | null;
  os?: string | null;
  browser?: string | null;
  eventKey: string;
  touchKind: "direct" | "assisted";
  conversions: number;
  /** Decimal string, exact. */
  revenue: string;
}

/** One row of a conversion's contribution to field_conversion_rollups_hourly, as the ledger stores it. */
export interface FieldRollupContribution {
  /** ISO hour, UTC. */
  hour: string;
  fieldName: string;
  fieldValue: string;
  funnelId: string;
  nodeId: string;
  pageId: string | null;
  trafficSourceId: string | null;
  eventKey: string;
  touchKind: "direct" | "assisted";
  conversions: number;
  /** Decimal string, exact. */
  revenue: string;
}

/**
 * One row of a conversion's contribution to conversion_tuple_rollups_hourly, as the ledger stores
 * it: the credited visit's whole tuple (RollupContribution's dimensions and its tracking fields).
 */
export interface TupleRollupContribution {
  /** ISO hour, UTC. */
  hour: string;
  funnelId: string;
  nodeId: string;
  pageId: string | null;
  trafficSourceId: string | null;
  country: string | null;
  deviceType: string | null;
  os: string | null;
  browser: string | null;
  /** The visit's tracking fields, campaign included (see visitTupleColumns). */
  fields: Record<string, string>;
  eventKey: string;
  touchKind: "direct" | "assisted";
  conversions: number;
  /** Decimal string, exact. */
  revenue: string;
}

/**
 * The ledger that makes rollup updates idempotent: what each conversion last added to the rollups
 * and at which revision. Applying a change locks this row, adds (current − applied) and records the
 * new revision, so a retried or stale job adds nothing. No foreign key to conversions on purpose: if
 * a conversion row ever disappears, its ledger row still says what to take back out.
 */
export const conversionRollupState = pgTable(
  "conversion_rollup_state",
  {
    conversionId: uuid("conversion_id").primaryKey(),
    workspaceId: eventWorkspaceRef(),
    appliedRevision: integer("applied_revision").notNull(),
    contribution: jsonb("contribution").$type<RollupContribution[]>().notNull().default(sql`'[]'::jsonb`),
    /**
     * What the conversion last added to field_conversion_rollups_hourly (and its days), as
     * FieldRollupContribution rows. NULL: nothing yet (a ledger from before that rollup existed);
     * a rebuild of a range settles those of its conversions before it sums the range from raw rows.
     */
    fieldContribution: jsonb("field_contribution").$type<FieldRollupContribution[]>(),
    /**
     * What the conversion last added to conversion_tuple_rollups_hourly (and its days), as
     * TupleRollupContribution rows; NULL as for field_contribution. Kept by the same statement.
     */
    tupleContribution: jsonb("tuple_contribution").$type<TupleRollupContribution[]>(),
    /**
     * The hour (UTC) of the conversion when its tuple_contribution was last applied to the rollups
     * at conversion time (conversion_time_rollups_hourly, conversion_time_tuple_rollups_*): what it
     * added there is tuple_contribution in that hour. NULL: nothing added there yet (a ledger from
     * before those rollups existed). Kept by the same statement.
     */
    convertedHour: timestamp("converted_hour", { withTimezone: true, mode: "date" }),
    updatedAt: updatedAt(),
  },
  (t) => [index("conversion_rollup_state_workspace_idx").on(t.workspaceId)],
);

/**
 * The key columns of a visit rollup row (hour and visit dimensions): shared by the visit rollups
 * and the cost-update rollups, whose rows must meet on exactly these columns.
 */
export const visitRollupKey = () => ({
  workspaceId: eventWorkspaceRef(),
  hour: timestamp("hour", { withTimezone: true, mode: "date" }).notNull(),
  funnelId: uuid("funnel_id").notNull(),
  nodeId: uuid("node_id").notNull(),
  pageId: uuid("page_id"),
  pageKind: pageKind("page_kind").notNull(),
  trafficSourceId: uuid("traffic_source_id"),
  country: text("country"),
  deviceType: text("device_type"),
  os: text("os"),
  browser: text("browser"),
});

/**
 * Visits and cost per hour and dimensions, kept by a sweep that adds newly committed hits every
 * second (rollup_watermarks); `hitrail rollups recompute` and a nightly cross-check rebuild any range
 * from raw hits as of the sweep's watermark. `visits` counts every hit (page views), `bots` the ones
 * flagged as bots among them.
 *
 * Report metrics (#22): `is_bot` is a key column so every count can be read with bots or without;
 * `entrances` are the hits that start a journey in the funnel (no previous hit), which is what a
 * report calls visits; `action_clicks` are clicks out of a lander, filed under the *lander's*
 * dimensions in the hour of the click, so CTR of a lander is its clicks over its views.
 */
/** The counts of a visit rollup row: shared by the visit rollups and the visits-by-field rollups. */
const visitRollupMeasures = () => ({
  visits: integer("visits").notNull().default(0),
  /** Visits that were the visitor's first on this node: unique visitors of a page. */
  uniqueNodeVisits: integer("unique_node_visits").notNull().default(0),
  /** Visits that were the visitor's first in this funnel: unique visitors of a funnel. */
  uniqueFunnelVisits: integer("unique_funnel_visits").notNull().default(0),
  bots: integer("bots").notNull().default(0),
  cost: numeric("cost", ROLLUP_MONEY).notNull().default("0"),
  isBot: boolean("is_bot").notNull().default(false),
  entrances: integer("entrances").notNull().default(0),
  actionClicks: integer("action_clicks").notNull().default(0),
  updatedAt: updatedAt(),
});

export const hitRollupsHourly = pgTable(
  "hit_rollups_hourly",
  {
    ...visitRollupKey(),
    ...visitRollupMeasures(),
  },
  (t) => [
    unique("hit_rollups_hourly_key")
      .on(
        t.workspaceId,
        t.hour,
        t.funnelId,
        t.nodeId,
        t.pageId,
        t.pageKind,
        t.trafficSourceId,
        t.country,
        t.deviceType,
        t.os,
        t.browser,
        t.isBot,
      )
      .nullsNotDistinct(),
  ],
);

/** The columns after the time of the two visits-by-field tables (hours and days). */
const visitFieldColumns = () => ({
  funnelId: uuid("funnel_id").notNull(),
  nodeId: uuid("node_id").notNull(),
  pageId: uuid("page_id"),
  pageKind: pageKind("page_kind").notNull(),
  trafficSourceId: uuid("traffic_source_id"),
  fieldName: text("field_name").notNull(),
  fieldValue: text("field_value").notNull(),
  fieldHash: uuid("field_hash").notNull().generatedAlwaysAs(sql`md5(field_value)::uuid`),
  ...visitRollupMeasures(),
});

/**
 * Visits by tracking field: hit_rollups_hourly's rows once more per tracking field a visit carries
 * (hits.tracking_fields, and hits.campaign as the field `campaign` unless tracking_fields names one),
 * with the field's name and value as two more key columns. Kept by the same sweep, in the same
 * statement, and rebuilt with it, so a report grouped or filtered by one field reads rollups too.
 * Visits without the field are not here: a report reads them as the visit rollups' rows minus this
 * table's rows of the field (every count is a sum, unique visitors included: each visit row says
 * whether it was its visitor's first, however the hours are summed).
 *
 * Narrow on purpose: only the dimensions a field is drilled with (traffic source, funnel, node,
 * page), not country, device, OS or browser. With those in the key (migration 0021) it held 0.87
 * rows per hit, as many as the raw hits a report by zone would read; a field crossed with them is
 * read from the rollups by visit tuple (visitTupleRollupsHourly).
 *
 * `field_hash` (md5 of the value) stands for the value in the key: values run to a kilobyte of any
 * script, more than a btree key may hold, and one such visit must never stop the sweep.
 */
export const fieldRollupsHourly = pgTable(
  "field_rollups_hourly",
  {
    workspaceId: eventWorkspaceRef(),
    hour: timestamp("hour", { withTimezone: true, mode: "date" }).notNull(),
    ...visitFieldColumns(),
  },
  (t) => [
    // Hour before field name: rebuilds delete a workspace's hours (every field), and a report's
    // range scan skips other fields' entries in the index alone.
    unique("field_rollups_hourly_key")
      .on(
        t.workspaceId,
        t.hour,
        t.fieldName,
        t.funnelId,
        t.nodeId,
        t.pageId,
        t.pageKind,
        t.trafficSourceId,
        t.fieldHash,
        t.isBot,
      )
      .nullsNotDistinct(),
  ],
);

/**
 * field_rollups_hourly summed by UTC day: what a report of whole days reads (a 30-day report by zone
 * reads 30 rows per key instead of 720), the hours at the range's edges coming from the hourly
 * table (a workspace's local day is rarely a UTC day). Kept from field_rollups_hourly in the same
 * statements: the sweep adds the same sums to the day, a rebuild sums the day's hours again.
 */
export const fieldRollupsDaily = pgTable(
  "field_rollups_daily",
  {
    workspaceId: eventWorkspaceRef(),
    /** The UTC day's first hour. */
    day: timestamp("day", { withTimezone: true, mode: "date" }).notNull(),
    ...visitFieldColumns(),
  },
  (t) => [
    unique("field_rollups_daily_key")
      .on(
        t.workspaceId,
        t.day,
        t.fieldName,
        t.funnelId,
        t.nodeId,
        t.pageId,
        t.pageKind,
        t.trafficSourceId,
        t.fieldHash,
        t.isBot,
      )
      .nullsNotDistinct(),
  ],
);

/** The columns after the time of the two conversions-by-field tables (hours and days). */
const conversionFieldColumns = () => ({
  funnelId: uuid("funnel_id").notNull(),
  nodeId: uuid("node_id").notNull(),
  pageId: uuid("page_id"),
  trafficSourceId: uuid("traffic_source_id"),
  fieldName: text("field_name").notNull(),
  fieldValue: text("field_value").notNull(),
  fieldHash: uuid("field_hash").notNull().generatedAlwaysAs(sql`md5(field_value)::uuid`),
  ...conversionMeasures(),
});

/**
 * Conversions and revenue by tracking field: conversion_rollups_hourly's rows once more per tracking
 * field the credited visit carries (as field_rollups_hourly files visits), keyed only by what a field
 * is drilled with (traffic source, funnel, node, page). Kept with conversion_rollups_hourly, exactly
 * once, through the same ledger (conversion_rollup_state.field_contribution); a report by field reads
 * it instead of looking up each conversion's visit. Conversions whose visit lacks the field are not
 * here: a report reads them as the conversion rollups minus this table.
 */
export const fieldConversionRollupsHourly = pgTable(
  "field_conversion_rollups_hourly",
  {
    workspaceId: eventWorkspaceRef(),
    hour: timestamp("hour", { withTimezone: true, mode: "date" }).notNull(),
    ...conversionFieldColumns(),
  },
  (t) => [
    unique("field_conversion_rollups_hourly_key")
      .on(
        t.workspaceId,
        t.hour,
        t.fieldName,
        t.funnelId,
        t.nodeId,
        t.pageId,
        t.trafficSourceId,
        t.fieldHash,
        t.eventKey,
        t.touchKind,
      )
      .nullsNotDistinct(),
  ],
);

/** field_conversion_rollups_hourly summed by UTC day (see fieldRollupsDaily). */
export const fieldConversionRollupsDaily = pgTable(
  "field_conversion_rollups_daily",
  {
    workspaceId: eventWorkspaceRef(),
    /** The UTC day's first hour. */
    day: timestamp("day", { withTimezone: true, mode: "date" }).notNull(),
    ...conversionFieldColumns(),
  },
  (t) => [
    unique("field_conversion_rollups_daily_key")
      .on(
        t.workspaceId,
        t.day,
        t.fieldName,
        t.funnelId,
        t.nodeId,
        t.pageId,
        t.trafficSourceId,
        t.fieldHash,
        t.eventKey,
        t.touchKind,
      )
      .nullsNotDistinct(),
  ],
);

/**
 * The tracking fields of a visit as one value: hits.tracking_fields (an object; else none) and the
 * campaign (hits.campaign unless tracking_fields names one), e.g. {"zone":"z3","campaign":"c3"};
 * `{}` for none. jsonb keeps one spelling per set of fields, so `fields_hash` (md5 of its text)
 * stands for it in the key: the values may run to kilobytes, more than a btree key holds.
 */
const tupleFields = () => ({
  fields: jsonb("fields").$type<Record<string, string>>().notNull(),
  fieldsHash: uuid("fields_hash").notNull().generatedAlwaysAs(sql`md5(fields::text)::uuid`),
});

/** The columns after the time of the two visits-by-tuple tables (hours and days). */
const visitTupleColumns = () => ({
  funnelId: uuid("funnel_id").notNull(),
  nodeId: uuid("node_id").notNull(),
  pageId: uuid("page_id"),
  pageKind: pageKind("page_kind").notNull(),
  trafficSourceId: uuid("traffic_source_id"),
  country: text("country"),
  deviceType: text("device_type"),
  os: text("os"),
  browser: text("browser"),
  ...tupleFields(),
  ...visitRollupMeasures(),
});

/**
 * Visits by their whole tuple (#22, "crossings"): hit_rollups_hourly's key plus the visit's tracking
 * fields all at once (`fields`), so a report naming two fields, or a field crossed with country,
 * device, OS or browser, sums these rows instead of reading raw hits. Kept by the visit sweep in the
 * statement that keeps the other visit rollups, and rebuilt with them.
 *
 * Tracking field values are bounded per traffic source in practice (zones, creatives, campaigns), so
 * a day holds far fewer tuples than visits (the 10M-hit report bench: 0.011 day rows and 0.24 hour rows per hit). A source that
 * passes a per-click value as a tracking field (a click id) makes every visit its own tuple: the
 * rows then cost what the raw hits do, and a report still reads one row per visit of its range
 * instead of a visit, its visitor's earlier hits and its click's lander.
 */
export const visitTupleRollupsHourly = pgTable(
  "visit_tuple_rollups_hourly",
  {
    workspaceId: eventWorkspaceRef(),
    hour: timestamp("hour", { withTimezone: true, mode: "date" }).notNull(),
    ...visitTupleColumns(),
  },
  (t) => [
    unique("visit_tuple_rollups_hourly_key")
      .on(
        t.workspaceId,
        t.hour,
        t.funnelId,
        t.nodeId,
        t.pageId,
        t.pageKind,
        t.trafficSourceId,
        t.country,
        t.deviceType,
        t.os,
        t.browser,
        t.fieldsHash,
        t.isBot,
      )
      .nullsNotDistinct(),
  ],
);

/** visit_tuple_rollups_hourly summed by UTC day (as field_rollups_daily sums field_rollups_hourly). */
export const visitTupleRollupsDaily = pgTable(
  "visit_tuple_rollups_daily",
  {
    workspaceId: eventWorkspaceRef(),
    /** The UTC day's first hour. */
    day: timestamp("day", { withTimezone: true, mode: "date" }).notNull(),
    ...visitTupleColumns(),
  },
  (t) => [
    unique("visit_tuple_rollups_daily_key")
      .on(
        t.workspaceId,
        t.day,
        t.funnelId,
        t.nodeId,
        t.pageId,
        t.pageKind,
        t.trafficSourceId,
        t.country,
        t.deviceType,
        t.os,
        t.browser,
        t.fieldsHash,
        t.isBot,
      )
      .nullsNotDistinct(),
  ],
);

/** The columns after the time of the two conversions-by-tuple tables (hours and days). */
const conversionTupleColumns = () => ({
  ...conversionDimensions(),
  ...tupleFields(),
  ...conversionMeasures(),
});

/**
 * Conversions and revenue by the credited visit's whole tuple: conversion_rollups_hourly's key plus
 * the visit's tracking fields. Kept exactly once through the conversion ledger
 * (conversion_rollup_state.tuple_contribution), by the statement that keeps the conversions by field.
 */
export const conversionTupleRollupsHourly = pgTable(
  "conversion_tuple_rollups_hourly",
  {
    workspaceId: eventWorkspaceRef(),
    hour: timestamp("hour", { withTimezone: true, mode: "date" }).notNull(),
    ...conversionTupleColumns(),
  },
  (t) => [conversionKey("conversion_tuple_rollups_hourly_key", t, t.hour, t.fieldsHash)],
);

/** conversion_tuple_rollups_hourly summed by UTC day. */
export const conversionTupleRollupsDaily = pgTable(
  "conversion_tuple_rollups_daily",
  {
    workspaceId: eventWorkspaceRef(),
    /** The UTC day's first hour. */
    day: timestamp("day", { withTimezone: true, mode: "date" }).notNull(),
    ...conversionTupleColumns(),
  },
  (t) => [conversionKey("conversion_tuple_rollups_daily_key", t, t.day, t.fieldsHash)],
);

/**
 * Conversions and revenue credited at conversion time (#22, `creditAt: "conversion"`): the rows of
 * conversion_rollups_hourly, in the hour the conversion happened (conversions.converted_at) instead
 * of the credited visit's, its direct and assisted rows alike, as the raw rows credit them. What a
 * report without a tracking field reads; with one, it reads the same rows by tuple
 * (conversionTimeTupleRollupsHourly). Kept exactly once through the ledger entries of the rollups
 * by tuple, by the same statements: what a conversion added here and there is its
 * tuple_contribution (its fields summed away here) in the hour conversion_rollup_state
 * .converted_hour says (NULL: nothing yet).
 */
export const conversionTimeRollupsHourly = pgTable(
  "conversion_time_rollups_hourly",
  {
    workspaceId: eventWorkspaceRef(),
    /** The UTC hour the conversion happened in. */
    hour: timestamp("hour", { withTimezone: true, mode: "date" }).notNull(),
    ...conversionDimensions(),
    ...conversionMeasures(),
  },
  (t) => [conversionKey("conversion_time_rollups_hourly_key", t, t.hour)],
);

/**
 * conversion_tuple_rollups_hourly's rows in the hour the conversion happened: what a report credited
 * at conversion time reads when it names tracking fields (one, two, or crossed with country…).
 */
export const conversionTimeTupleRollupsHourly = pgTable(
  "conversion_time_tuple_rollups_hourly",
  {
    workspaceId: eventWorkspaceRef(),
    /** The UTC hour the conversion happened in. */
    hour: timestamp("hour", { withTimezone: true, mode: "date" }).notNull(),
    ...conversionTupleColumns(),
  },
  (t) => [conversionKey("conversion_time_tuple_rollups_hourly_key", t, t.hour, t.fieldsHash)],
);

/**
 * conversion_time_tuple_rollups_hourly summed by UTC day. Conversions are a few percent of the hits,
 * but each is nearly its own tuple in an hour: the 10M-hit report bench's 200,000 conversions make
 * 293,000 hour rows and 18,400 day rows (the same rows without fields: 21,600 hours).
 */
export const conversionTimeTupleRollupsDaily = pgTable(
  "conversion_time_tuple_rollups_daily",
  {
    workspaceId: eventWorkspaceRef(),
    /** The UTC day's first hour. */
    day: timestamp("day", { withTimezone: true, mode: "date" }).notNull(),
    ...conversionTupleColumns(),
  },
  (t) => [conversionKey("conversion_time_tuple_rollups_daily_key", t, t.day, t.fieldsHash)],
);

/**
 * How far each incremental rollup has read its raw rows. `hits`: the snapshot (pg_current_snapshot())
 * of the last visit-rollup sweep; every hit whose writing transaction that snapshot shows is in
 * hit_rollups_hourly, and no other (hits written before hits.ingest_xid existed count as shown). The
 * sweep moves it and adds the rows in between in one statement, so nothing is counted twice or
 * skipped. Not a tenant table: one sweep covers every workspace (the worker's maintenance role
 * moves it; the app role may read it, to rebuild one workspace's hours as of it).
 */
export const rollupWatermarks = pgTable("rollup_watermarks", {
  stream: text("stream").primaryKey(),
  /** NULL until the first sweep: it then rebuilds the recent hours and starts from its own snapshot. */
  snapshot: pgSnapshot("snapshot"),
  sweptAt: timestamp("swept_at", { withTimezone: true, mode: "date" }),
  /** Raw rows added in total, for the operator's curiosity. */
  rows: bigint("rows", { mode: "number" }).notNull().default(0),
  /**
   * `hits`: hours before this one may lack rollup rows (hits written before an upgrade added a
   * rollup); the worker rebuilds them in the background, newest first, moving this down, and sets
   * it NULL when it passes the oldest hit. NULL: nothing to backfill.
   */
  backfillBefore: timestamp("backfill_before", { withTimezone: true, mode: "date" }),
  updatedAt: updatedAt(),
});
