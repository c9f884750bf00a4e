import { jsonb, pgTable, primaryKey, timestamp, uuid } from "drizzle-orm/pg-core";
import { users, workspaceRef } from "./accounts.ts";

/** What one user last chose to see in one workspace's report grid. */
export interface ReportPreferenceSettings {
  /** Metric column keys in the order shown. */
  columns: string[];
}

/** A user's report settings per workspace: the column picker's choice, remembered across devices. */
export const reportPreferences = pgTable(
  "report_preferences",
  {
    workspaceId: workspaceRef(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    settings: jsonb("settings").$type<ReportPreferenceSettings>().notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.userId] })],
);
