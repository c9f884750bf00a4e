import { sql } from "drizzle-orm";
import {
  index,
  integer,
  jsonb,
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
import { createdAt, id, timestamps } from "./columns.ts";

export const postbackOutcome = pgEnum("postback_outcome", [
  "created",
  "updated",
  "deleted",
  "restored",
  "ignored",
  "rejected",
]);

/**
 * Every postback (and tag conversion) we received, with its outcome in plain words. RANGE-partitioned
 * by day on received_at in the migration (drizzle-kit cannot express it): old days are dropped whole
 * by the worker's daily job after POSTBACK_LOG_RETENTION_DAYS (see hitrail_drop_postback_log_partitions).
 */
export const receivedPostbacks = pgTable(
  "received_postbacks",
  {
    id: uuid("id")
      .notNull()
      .$defaultFn(() => newId()),
    workspaceId: eventWorkspaceRef(),
    receivedAt: timestamp("received_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    method: text("method").notNull(),
    channel: text("channel").notNull().default("postback"),
    ip: text("ip"),
    params: jsonb("params").$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    hitId: uuid("hit_id"),
    visitorId: uuid("visitor_id"),
    tx: text("tx"),
    statusWord: text("status_word"),
    outcome: postbackOutcome("outcome").notNull(),
    reason: text("reason"),
    httpStatus: integer("http_status").notNull(),
    conversionId: uuid("conversion_id"),
  },
  (t) => [
    primaryKey({ columns: [t.id, t.receivedAt] }),
    index("received_postbacks_workspace_time_idx").on(t.workspaceId, t.receivedAt),
    index("received_postbacks_hit_idx").on(t.hitId),
  ],
);

export const deliveryStatus = pgEnum("delivery_status", [
  "pending",
  "delivered",
  "failed",
  "dead",
  "cancelled",
  /** Held while its traffic source's endpoint is disabled; re-enabling sends it. */
  "paused",
]);

/** One traffic-source postback for one conversion revision (the dedupe unit). */
export const outboundDeliveries = pgTable(
  "outbound_deliveries",
  {
    id: id(),
    workspaceId: eventWorkspaceRef(),
    conversionId: uuid("conversion_id").notNull(),
    revision: integer("revision").notNull(),
    trafficSourceId: uuid("traffic_source_id").notNull(),
    event: text("event").notNull(),
    url: text("url").notNull(),
    status: deliveryStatus("status").notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    /** Macros the template named that we could not fill; shown as a warning in the log. */
    unknownMacros: text("unknown_macros").array().notNull().default(sql`'{}'::text[]`),
    notBefore: timestamp("not_before", { withTimezone: true, mode: "date" }),
    deliveredAt: timestamp("delivered_at", { withTimezone: true, mode: "date" }),
    /**
     * When the worker's relay handed the delivery's first job (`deliver-<id>`) to the queue. A new
     * delivery is its own outbox entry: the relay claims the unrelayed ones as it claims outbox rows,
     * so the write path adds no outbox row (and its two index entries) per postback. Rows written
     * before the column existed had an outbox row, and are marked relayed.
     */
    relayedAt: timestamp("relayed_at", { withTimezone: true, mode: "date" }),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("outbound_deliveries_revision_key").on(t.conversionId, t.revision, t.trafficSourceId),
    index("outbound_deliveries_workspace_idx").on(t.workspaceId, t.createdAt),
    index("outbound_deliveries_unrelayed_idx").on(t.createdAt).where(sql`${t.relayedAt} is null`),
  ],
);

export const deliveryAttempts = pgTable(
  "delivery_attempts",
  {
    id: id(),
    workspaceId: eventWorkspaceRef(),
    deliveryId: uuid("delivery_id")
      .notNull()
      .references(() => outboundDeliveries.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    url: text("url").notNull(),
    statusCode: integer("status_code"),
    latencyMs: integer("latency_ms"),
    error: text("error"),
    createdAt: createdAt(),
  },
  (t) => [index("delivery_attempts_delivery_idx").on(t.deliveryId)],
);
