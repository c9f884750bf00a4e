import { sql } from "drizzle-orm";
import {
  index,
  integer,
  jsonb,
  numeric,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { newId } from "../ids.ts";
import { eventWorkspaceRef } from "./accounts.ts";
import { createdAt, id, MONEY, timestamps, xid8 } from "./columns.ts";
import { pageKind } from "./hits.ts";

export const conversionStatus = pgEnum("conversion_status", ["approved", "pending", "rejected"]);
export const conversionSource = pgEnum("conversion_source", ["postback", "tag", "action", "api", "import"]);
export const revisionAction = pgEnum("revision_action", ["created", "updated", "deleted", "restored"]);
export const touchKind = pgEnum("touch_kind", ["direct", "assisted"]);

/**
 * A revenue event on one hit. Identity: (workspace, hit, event, tx) — `eventKey` is '' for a
 * conversion or the custom event type's id, `tx` is '' when the network sent none, and `seq` only
 * grows under the "new" duplicate policy. A rejection soft-deletes (deletedAt) so the identity and
 * its revisions survive; a later approval restores it.
 *
 * Stored with fillfactor 85 (migration 0023; drizzle has no table storage parameters): a delayed
 * revenue or status update changes no indexed column, so with room on the page it is a HOT update.
 */
export const conversions = pgTable(
  "conversions",
  {
    id: id(),
    workspaceId: eventWorkspaceRef(),
    hitId: uuid("hit_id").notNull(),
    eventTypeId: uuid("event_type_id"),
    eventKey: text("event_key").notNull().default(""),
    tx: text("tx").notNull().default(""),
    seq: integer("seq").notNull().default(0),
    revenue: numeric("revenue", MONEY).notNull(),
    status: conversionStatus("status").notNull(),
    revision: integer("revision").notNull().default(1),
    visitorId: uuid("visitor_id").notNull(),
    funnelId: uuid("funnel_id").notNull(),
    nodeId: uuid("node_id").notNull(),
    pageId: uuid("page_id"),
    pageKind: pageKind("page_kind").notNull(),
    trafficSourceId: uuid("traffic_source_id"),
    /** When the converting visit happened: reports credit revenue to this hour by default. */
    hitAt: timestamp("hit_at", { withTimezone: true, mode: "date" }).notNull(),
    /** When the conversion happened (network-supplied time, else when we received it). */
    convertedAt: timestamp("converted_at", { withTimezone: true, mode: "date" }).notNull(),
    deletedAt: timestamp("deleted_at", { withTimezone: true, mode: "date" }),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("conversions_identity_key").on(t.workspaceId, t.hitId, t.eventKey, t.tx, t.seq),
    index("conversions_workspace_hit_at_idx").on(t.workspaceId, t.hitAt),
    // No index on (workspace_id, converted_at): a rebuild of the rollups at conversion time finds
    // the conversions of its hours without one (rare, one scan of conversions a chunk). With one,
    // every postback paid its entry, and the tracker's cached generic plan for its read of stored
    // conversions (storedSql) took it instead of the identity key on one of two connections, reading
    // the workspace's every conversion per postback (1,186-3,898 µs of PostgreSQL CPU a postback).
  ],
);

/**
 * A revision's or touch's conversion. No foreign key, for the reason eventWorkspaceRef gives: the
 * write path inserts them in the same statement as their conversion, and each FK check (a KEY SHARE
 * lock through an SPI query per row) cost more than the rest of a postback batch together when
 * measured. Conversions are never hard-deleted (a rejection sets deleted_at), so nothing can dangle.
 */
const conversionRef = () => uuid("conversion_id").notNull();

/**
 * The id of a row every read reaches through its conversion (revisions, touches): kept as a stable
 * name for the row, but not indexed. Each postback writes these rows on its hot path, and an index
 * on an id nothing looks up was one more index entry per row; the key is (conversion, …).
 */
const childId = () =>
  uuid("id")
    .notNull()
    .$defaultFn(() => newId());

/** Audit trail: one row for every change, with the raw request that caused it. */
export const conversionRevisions = pgTable(
  "conversion_revisions",
  {
    id: childId(),
    workspaceId: eventWorkspaceRef(),
    conversionId: conversionRef(),
    revision: integer("revision").notNull(),
    action: revisionAction("action").notNull(),
    previousRevenue: numeric("previous_revenue", MONEY),
    revenue: numeric("revenue", MONEY).notNull(),
    status: conversionStatus("status").notNull(),
    statusWord: text("status_word"),
    source: conversionSource("source").notNull(),
    receivedPostbackId: uuid("received_postback_id"),
    raw: jsonb("raw").$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    createdAt: createdAt(),
    /**
     * The transaction that wrote the revision: the conversion rollup sweep (sweepConversionRollups)
     * finds the revisions committed since its watermark by it, as the visit sweep finds hits. NULL on
     * rows written before the column existed: their rollup jobs were already queued.
     */
    ingestXid: xid8("ingest_xid").default(sql`pg_current_xact_id()`),
  },
  (t) => [
    primaryKey({
      name: "conversion_revisions_conversion_revision_key",
      columns: [t.conversionId, t.revision],
    }),
    index("conversion_revisions_ingest_xid_idx").on(t.ingestXid).where(sql`${t.ingestXid} is not null`),
  ],
);

/**
 * A conversion's credit to an earlier hit of the path that led to it (backward attribution): the
 * assisted touches. The direct touch (position 0, the converting hit) is the conversion itself and is
 * not stored: reads derive it from the conversion (listTouches). Rows of kind `direct` written before
 * that are ignored by every read.
 */
export const touches = pgTable(
  "touches",
  {
    id: childId(),
    workspaceId: eventWorkspaceRef(),
    conversionId: conversionRef(),
    hitId: uuid("hit_id").notNull(),
    funnelId: uuid("funnel_id").notNull(),
    nodeId: uuid("node_id").notNull(),
    pageId: uuid("page_id"),
    kind: touchKind("kind").notNull(),
    /** 0 for the converting hit, then 1, 2, … going back along the path. */
    position: integer("position").notNull(),
    hitAt: timestamp("hit_at", { withTimezone: true, mode: "date" }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: "touches_conversion_hit_key", columns: [t.conversionId, t.hitId] }),
    index("touches_workspace_hit_at_idx").on(t.workspaceId, t.hitAt),
  ],
);
