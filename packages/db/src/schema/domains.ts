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
    uniqueIndex("tracking_domains_host_key").on(t.host),
    index("tracking_domains_workspace_idx").on(t.workspaceId),
  ],
);
