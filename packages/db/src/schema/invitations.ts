import { index, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { users, workspaceRef, workspaceRole } from "./accounts.ts";
import { createdAt, id } from "./columns.ts";

/**
 * An admin's invitation of an email address into a workspace. Membership comes only from accepting
 * it through its token link, signed in as that email (or signing up through it), so nobody who
 * registered the address beforehand inherits what is granted to it.
 */
export const invitations = pgTable(
  "invitations",
  {
    id: id(),
    workspaceId: workspaceRef(),
    /** Lower-case. */
    email: text("email").notNull(),
    role: workspaceRole("role").notNull(),
    /** sha256 of the link's token; the token itself is only in the link. */
    tokenHash: text("token_hash").notNull(),
    invitedByUserId: uuid("invited_by_user_id").references(() => users.id, { onDelete: "set null" }),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    acceptedAt: timestamp("accepted_at", { withTimezone: true }),
    acceptedByUserId: uuid("accepted_by_user_id").references(() => users.id, { onDelete: "set null" }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("invitations_token_key").on(t.tokenHash),
    index("invitations_workspace_idx").on(t.workspaceId, t.createdAt),
  ],
);
