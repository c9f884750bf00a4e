import { sql } from "drizzle-orm";
import { boolean, index, jsonb, numeric, pgEnum, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { MONEY, xid8 } from "./columns.ts";

export const pageKind = pgEnum("page_kind", ["lander", "offer", "external", "none"]);

/**
 * One visit to one node; stored forever. Partitioned by RANGE on the UUIDv7 id (its first 48 bits
 * are the millisecond it was minted), so a lookup by hit ID prunes to one month's partition and
 * the primary key needs no second column. The partitioning lives in the migration SQL
 * (drizzle-kit cannot express it); see `hitrail_ensure_hit_partitions`.
 *
 * No foreign keys: this is the hottest insert path, and hits replayed from the outage spool must
 * land even if they arrive after rows that mention them.
 */
export const hits = pgTable(
  "hits",
  {
    id: uuid("id").primaryKey(),
    workspaceId: uuid("workspace_id").notNull(),
    visitorId: uuid("visitor_id").notNull(),
    funnelId: uuid("funnel_id").notNull(),
    nodeId: uuid("node_id").notNull(),
    pageId: uuid("page_id"),
    pageKind: pageKind("page_kind").notNull(),
    trafficSourceId: uuid("traffic_source_id"),
    externalId: text("external_id"),
    campaign: text("campaign"),
    cost: numeric("cost", MONEY),
    trackingFields: jsonb("tracking_fields")
      .$type<Record<string, string>>()
      .notNull()
      .default(sql`'{}'::jsonb`),
    /** The hit this visit came from (action links); backward attribution walks these links. */
    prevHitId: uuid("prev_hit_id"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    deviceType: text("device_type"),
    os: text("os"),
    browser: text("browser"),
    country: text("country"),
    language: text("language"),
    referrer: text("referrer"),
    isBot: boolean("is_bot").notNull().default(false),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    /**
     * The transaction that wrote the row (`pg_current_xact_id()`, the column's default). The visit
     * rollup sweep adds exactly the rows whose transaction a snapshot shows and the previous one did
     * not, so a row that commits late (a slow group commit, a replay from the outage spool) is counted
     * once, whenever it lands. NULL on rows written before the column existed: those count as swept.
     */
    ingestXid: xid8("ingest_xid").default(sql`pg_current_xact_id()`),
  },
  (t) => [
    index("hits_workspace_created_idx").on(t.workspaceId, t.createdAt),
    index("hits_visitor_idx").on(t.visitorId),
    index("hits_ingest_xid_idx").on(t.ingestXid).where(sql`${t.ingestXid} is not null`),
    // Conversion imports name a traffic source's click id: a feed file's only key for the visit.
    index("hits_workspace_external_idx")
      .on(t.workspaceId, t.externalId)
      .where(sql`${t.externalId} is not null`),
  ],
);
