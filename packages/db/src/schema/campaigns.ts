import { DUPLICATE_POLICIES } from "@hitrail/core";
import { sql } from "drizzle-orm";
import {
  boolean,
  index,
  integer,
  jsonb,
  numeric,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { workspaceRef } from "./accounts.ts";
import { id, MONEY, timestamps } from "./columns.ts";

/** How a repeat of the same conversion identity is treated; the seed's behaviour is "update". */
export const duplicatePolicy = pgEnum("duplicate_policy", DUPLICATE_POLICIES);

export interface TrackingField {
  /** Token name used in URLs, e.g. `{zoneid}`. */
  name: string;
  /** Query parameter the traffic source sends it in. */
  param: string;
}

export const trafficSources = pgTable(
  "traffic_sources",
  {
    id: id(),
    workspaceId: workspaceRef(),
    name: text("name").notNull(),
    /** S2S postback template fired on conversions, with macros such as {external} and {payout}. */
    postbackUrl: text("postback_url"),
    postbackOnUpdate: boolean("postback_on_update").notNull().default(false),
    postbackOnReject: boolean("postback_on_reject").notNull().default(false),
    postbackDelaySeconds: integer("postback_delay_seconds").notNull().default(0),
    /** Query parameters the source's click ID, campaign and cost arrive in on entrance links. */
    externalParam: text("external_param").notNull().default("external"),
    campaignParam: text("campaign_param").notNull().default("campaign"),
    costParam: text("cost_param").notNull().default("cost"),
    /**
     * The network's own macros for those parameters, written into the entrance link shown to the
     * user (`{conversions_tracking}`, `${SUBID}`). Null: unknown, shown as REPLACE; empty: the
     * parameter stays off the link (the network appends it itself, or has no such macro).
     */
    externalMacro: text("external_macro"),
    campaignMacro: text("campaign_macro"),
    costMacro: text("cost_macro"),
    trackingFields: jsonb("tracking_fields").$type<TrackingField[]>().notNull().default(sql`'[]'::jsonb`),
    /** Since when every attempt to the postback endpoint has failed (null: the last one worked). */
    postbackFailingSince: timestamp("postback_failing_since", { withTimezone: true }),
    /** Set when the endpoint failed for longer than allowed: deliveries pause until re-enabled. */
    postbackDisabledAt: timestamp("postback_disabled_at", { withTimezone: true }),
    postbackDisabledReason: text("postback_disabled_reason"),
    /** A warning worth a look that disables nothing (a 410 Gone from the endpoint). */
    postbackFlag: text("postback_flag"),
    archivedAt: timestamp("archived_at", { withTimezone: true }),
    ...timestamps,
  },
  (t) => [index("traffic_sources_workspace_idx").on(t.workspaceId)],
);

export const offerSources = pgTable(
  "offer_sources",
  {
    id: id(),
    workspaceId: workspaceRef(),
    name: text("name").notNull(),
    /** Parameter the network expects our hit ID in, e.g. `clickid` → `&clickid={hit}`. */
    clickIdParam: text("click_id_param").notNull().default("clickid"),
    /** The postback the network calls, shown to users with the network's own macros. */
    postbackTemplate: text("postback_template"),
    /** Parameter carrying the network's status word, and what each word means (lower-case keys). */
    statusParam: text("status_param").notNull().default("status"),
    statusMap: jsonb("status_map").$type<Record<string, "approved" | "pending" | "rejected">>(),
    duplicatePolicy: duplicatePolicy("duplicate_policy").notNull().default("update"),
    /** A parameter of its own the network sends the conversion time in (`ts` always works). */
    conversionTimeParam: text("conversion_time_param"),
    archivedAt: timestamp("archived_at", { withTimezone: true }),
    ...timestamps,
  },
  (t) => [index("offer_sources_workspace_idx").on(t.workspaceId)],
);

export const offers = pgTable(
  "offers",
  {
    id: id(),
    workspaceId: workspaceRef(),
    offerSourceId: uuid("offer_source_id").references(() => offerSources.id, { onDelete: "set null" }),
    name: text("name").notNull(),
    /** Destination URL with tokens ({hit}, {vid}, {external}, …). */
    url: text("url").notNull(),
    defaultPayout: numeric("default_payout", MONEY).notNull().default("0"),
    currency: text("currency"),
    /**
     * The redirect appends the visitor ID (the workspace's parameter) to this offer's URL; off for
     * networks that refuse unknown parameters.
     */
    passVisitorId: boolean("pass_visitor_id").notNull().default(true),
    archivedAt: timestamp("archived_at", { withTimezone: true }),
    ...timestamps,
  },
  (t) => [index("offers_workspace_idx").on(t.workspaceId)],
);

export const landers = pgTable(
  "landers",
  {
    id: id(),
    workspaceId: workspaceRef(),
    name: text("name").notNull(),
    url: text("url").notNull(),
    /** Landers convert with 0 unless the user sets a payout. */
    defaultPayout: numeric("default_payout", MONEY).notNull().default("0"),
    archivedAt: timestamp("archived_at", { withTimezone: true }),
    ...timestamps,
  },
  (t) => [index("landers_workspace_idx").on(t.workspaceId)],
);

export const customEventTypes = pgTable(
  "custom_event_types",
  {
    id: id(),
    workspaceId: workspaceRef(),
    name: text("name").notNull(),
    /** Name used in code: `flux.track("<alias>")` and postback `e=<alias>`. */
    alias: text("alias").notNull(),
    hasRevenue: boolean("has_revenue").notNull().default(false),
    defaultRevenue: numeric("default_revenue", MONEY).notNull().default("0"),
    countsAsConversion: boolean("counts_as_conversion").notNull().default(false),
    firesPostback: boolean("fires_postback").notNull().default(false),
    duplicatePolicy: duplicatePolicy("duplicate_policy").notNull().default("update"),
    archivedAt: timestamp("archived_at", { withTimezone: true }),
    ...timestamps,
  },
  // Live aliases are unique per workspace (flux.track and e= find a type by alias); archived types
  // keep theirs for the history without blocking a new type from taking it.
  (t) => [
    uniqueIndex("custom_event_types_workspace_alias_key")
      .on(t.workspaceId, t.alias)
      .where(sql`${t.archivedAt} is null`),
  ],
);
