import { sql } from "drizzle-orm";
import {
  boolean,
  index,
  integer,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, id, timestamps } from "./columns.ts";

export const users = pgTable(
  "users",
  {
    id: id(),
    email: text("email").notNull(),
    name: text("name"),
    passwordHash: text("password_hash").notNull(),
    /**
     * The demo sign-in `pnpm start` seeds: it does not count as the server's first account, so the
     * first real sign-up still creates its own (SIGNUP=first).
     */
    demo: boolean("demo").notNull().default(false),
    ...timestamps,
  },
  (t) => [uniqueIndex("users_email_key").on(sql`lower(${t.email})`)],
);

export const authSessions = pgTable(
  "auth_sessions",
  {
    id: id(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** sha256 of the cookie token; the token itself is never stored. */
    tokenHash: text("token_hash").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("auth_sessions_token_key").on(t.tokenHash),
    index("auth_sessions_user_idx").on(t.userId),
  ],
);

export const workspaces = pgTable(
  "workspaces",
  {
    id: id(),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    timeZone: text("time_zone").notNull().default("UTC"),
    currency: text("currency").notNull().default("USD"),
    /** Visitor-session lifetime in seconds (seed: 4 days), extended on every activity. */
    sessionTtlSeconds: integer("session_ttl_seconds").notNull().default(345_600),
    /** Optional `key=` secret every postback must carry. */
    postbackSecret: text("postback_secret"),
    /** Optional CIDRs postbacks must come from. */
    postbackIpAllowlist: text("postback_ip_allowlist").array().notNull().default(sql`'{}'::text[]`),
    /** Browsers may record conversions with the tag's `flux.track` (seed: on). */
    tagConversions: boolean("tag_conversions").notNull().default(true),
    /**
     * Hosts (or `*.example.com`) that may send tag conversions and read the tag API's answers, on
     * top of the workspace's landers', offers' and tracking domains' hosts.
     */
    tagAllowedOrigins: text("tag_allowed_origins").array().notNull().default(sql`'{}'::text[]`),
    /** The tag may send `rev`; when off, the offer's or event's default payout is used. */
    tagRevenue: boolean("tag_revenue").notNull().default(true),
    /** Conversions one hit may collect through the tag. */
    tagConversionsPerHit: integer("tag_conversions_per_hit").notNull().default(10),
    /**
     * The query parameter the visitor ID travels under on every redirect destination (seed: "add it
     * automatically to redirect destinations"), and that the tag reads it back from.
     */
    visitorIdParam: text("visitor_id_param").notNull().default("vid"),
    ...timestamps,
  },
  (t) => [uniqueIndex("workspaces_slug_key").on(t.slug)],
);

/** The column every tenant-owned row carries; deleting a workspace deletes its rows. */
export const workspaceRef = () =>
  uuid("workspace_id")
    .notNull()
    .references(() => workspaces.id, { onDelete: "cascade" });

/**
 * workspace_id of the tables the hot paths write many rows a second into (conversions and their
 * revisions, touches, outbox, postback log, deliveries, rollups), like hits: no foreign key. Each
 * FK check takes a KEY SHARE lock on the one workspace row, and under load every concurrent batch of
 * a tenant contends for it (MultiXacts) — about half of a postback batch's time when measured.
 * Tenancy stays enforced by row-level security and every query's filter; the rows are only ever
 * written with the workspace the request was routed to.
 */
export const eventWorkspaceRef = () => uuid("workspace_id").notNull();

export const workspaceRole = pgEnum("workspace_role", ["owner", "admin", "member", "viewer"]);

export const memberships = pgTable(
  "memberships",
  {
    workspaceId: workspaceRef(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: workspaceRole("role").notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.userId] }), index("memberships_user_idx").on(t.userId)],
);

export const apiKeys = pgTable(
  "api_keys",
  {
    id: id(),
    workspaceId: workspaceRef(),
    name: text("name").notNull(),
    /** First characters of the key, shown in lists so a user can tell keys apart. */
    prefix: text("prefix").notNull(),
    /** sha256 of the key: keys are high-entropy random strings, so a fast hash is the right tool. */
    keyHash: text("key_hash").notNull(),
    role: workspaceRole("role").notNull().default("admin"),
    createdByUserId: uuid("created_by_user_id").references(() => users.id, { onDelete: "set null" }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("api_keys_hash_key").on(t.keyHash), index("api_keys_workspace_idx").on(t.workspaceId)],
);

export const auditLog = pgTable(
  "audit_log",
  {
    id: id(),
    workspaceId: workspaceRef(),
    actorUserId: uuid("actor_user_id"),
    actorApiKeyId: uuid("actor_api_key_id"),
    action: text("action").notNull(),
    entity: text("entity").notNull(),
    entityId: uuid("entity_id"),
    detail: text("detail"),
    isSystem: boolean("is_system").notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [index("audit_log_workspace_idx").on(t.workspaceId, t.createdAt)],
);
