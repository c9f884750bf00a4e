import { and, desc, eq, lt } from "drizzle-orm";
import type { Executor } from "../client.ts";
import { receivedPostbacks } from "../schema/index.ts";
import { type BulkRow, bulkColumns, insertFromJson } from "./bulk.ts";

// ---------------------------------------------------------------------------------------------
// The postback log

export type PostbackOutcome = (typeof receivedPostbacks.$inferSelect)["outcome"];
export type ReceivedPostback = typeof receivedPostbacks.$inferSelect;

const RECEIVED_POSTBACK_KEYS = [
  "id",
  "workspaceId",
  "receivedAt",
  "method",
  "channel",
  "ip",
  "params",
  "hitId",
  "visitorId",
  "tx",
  "statusWord",
  "outcome",
  "reason",
  "httpStatus",
  "conversionId",
] as const;

/**
 * One received postback (or tag conversion) and what became of it, as the log stores it. `channel`
 * is "postback", "tag", "action" or "import"; `reason` plain words for the user ("hit not found", …).
 */
export type ReceivedPostbackRow = BulkRow<typeof receivedPostbacks, (typeof RECEIVED_POSTBACK_KEYS)[number]>;

/** Log rows may span workspaces (a group-commit batch); each row carries its own workspace_id. */
export const RECEIVED_POSTBACK_COLUMNS = bulkColumns(receivedPostbacks, RECEIVED_POSTBACK_KEYS);

export async function insertReceivedPostbacks(
  db: Executor,
  rows: readonly ReceivedPostbackRow[],
): Promise<void> {
  await insertFromJson(db, "received_postbacks", RECEIVED_POSTBACK_COLUMNS, rows);
}

/** The newest entries of a workspace's postback log, for the dashboard (keyset-paged by time). */
export async function listReceivedPostbacks(
  db: Executor,
  input: { workspaceId: string; limit?: number; before?: Date; hitId?: string },
): Promise<ReceivedPostback[]> {
  const where = [eq(receivedPostbacks.workspaceId, input.workspaceId)];
  if (input.before) where.push(lt(receivedPostbacks.receivedAt, input.before));
  if (input.hitId) where.push(eq(receivedPostbacks.hitId, input.hitId));
  return db
    .select()
    .from(receivedPostbacks)
    .where(and(...where))
    .orderBy(desc(receivedPostbacks.receivedAt))
    .limit(Math.min(Math.max(input.limit ?? 100, 1), 1_000));
}
