import { sql } from "drizzle-orm";
import { index, pgEnum, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { workspaceRef } from "./accounts.ts";
import { id, timestamps } from "./columns.ts";

export const domainKind = pgEnum("domain_kind", ["default", "custom"]);

export const trackingDomains = pgTable(
  "tracking_domains",
  {
    id: id(),
    workspaceId: workspaceRef(),
    /** Lower-case host name without port; the Host header picks the workspace by it. */
    host: text("host").notNull(),
    kind: domainKind("kind").notNull(),
    /** Token a custom domain proves ownership with (DNS TXT or HTTP). */
    verificationToken: text("verification_token").notNull(),
    /** Only verified domains are routed and get certificates. Default domains are verified at birth. */
    verifiedAt: timestamp("verified_at", { withTimezone: true }),
    ...timestamps,
  },
  (t) => [
    // A host routes to one workspace: unique among verified domains only, so a claim nobody has
    // proved blocks nobody (any workspace may claim a host; the first to verify it wins).
    uniqueIndex("tracking_domains_verified_host_key").on(t.host).where(sql`${t.verifiedAt} is not null`),
    // A workspace claims a host once.
    uniqueIndex("tracking_domains_workspace_host_key").on(t.workspaceId, t.host),
    index("tracking_domains_host_idx").on(t.host),
    index("tracking_domains_workspace_idx").on(t.workspaceId),
  ],
);
