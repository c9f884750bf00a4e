import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { eventWorkspaceRef } from "./accounts.ts";
import { createdAt, id } from "./columns.ts";

/**
 * Transactional outbox: a job is written in the same transaction as the change that needs it, and a
 * relay moves it to BullMQ. A crash between commit and enqueue therefore loses nothing.
 */
export const outbox = pgTable(
  "outbox",
  {
    id: id(),
    workspaceId: eventWorkspaceRef(),
    /** Queue name from @hitrail/queue. */
    topic: text("topic").notNull(),
    /** Stable job id, so a relay that crashes after enqueueing re-enqueues the same job, not a twin. */
    jobId: text("job_id").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    delayMs: integer("delay_ms").notNull().default(0),
    relayedAt: timestamp("relayed_at", { withTimezone: true, mode: "date" }),
    createdAt: createdAt(),
  },
  (t) => [index("outbox_pending_idx").on(t.createdAt).where(sql`${t.relayedAt} is null`)],
);
