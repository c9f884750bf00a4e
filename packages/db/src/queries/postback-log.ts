import { and, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import type { Executor } from "../client.ts";
import { receivedPostbacks } from "../schema/index.ts";

// ---------------------------------------------------------------------------------------------
// Bulk statements from one JSON parameter: the statement text is the same for any number of rows,
// and a batch costs one parameter to serialize instead of rows × columns. The conversion write
// path builds on these too.

// Postgres text and json cannot hold NUL, and a lone UTF-16 surrogate is not JSON Postgres accepts:
// whatever a sender typed is stored, but made storable first.
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what must go
const NUL = /\u0000/g;

export function storableText(value: string): string {
  return value.toWellFormed().replace(NUL, "\uFFFD");
}

// What JSON.stringify writes for a NUL or a lone surrogate (a backslash-escaped backslash followed by
// the same letters also matches: that only sends it down the slow path).
const UNSTORABLE_ESCAPE = /\\u(0000|d[89a-f])/i;

/** JSON for a `json_to_recordset` parameter, every string (keys included) made storable. */
export function jsonParam(value: unknown): string {
  // The replacer below visits every value; nearly every batch needs none of it.
  let plain: string | null;
  try {
    plain = JSON.stringify(value);
  } catch {
    plain = null; // a bigint: the replacer below writes it as a string
  }
  if (plain !== null && !UNSTORABLE_ESCAPE.test(plain)) return plain;
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "string") return storableText(v);
    if (typeof v === "bigint") return v.toString();
    if (v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date)) {
      const out: Record<string, unknown> = {};
      for (const [k, inner] of Object.entries(v)) out[storableText(k)] = inner;
      return out;
    }
    return v;
  });
}

/** [column, key in the row object, Postgres type] */
export type JsonColumn = readonly [column: string, key: string, type: string];

/** `insert into <table> (…) select … from json_to_recordset($1)`; table and columns are code, never input. */
export function insertFromJsonSql(
  table: string,
  columns: readonly JsonColumn[],
  rows: readonly object[],
): SQL {
  const target = columns.map(([c]) => `"${c}"`).join(", ");
  const source = columns.map(([, k]) => `r."${k}"`).join(", ");
  const shape = columns.map(([, k, t]) => `"${k}" ${t}`).join(", ");
  return sql`insert into ${sql.raw(`"${table}" (${target})`)} select ${sql.raw(source)} from json_to_recordset(${jsonParam(rows)}::json) as r(${sql.raw(shape)})`;
}

export async function insertFromJson(
  db: Executor,
  table: string,
  columns: readonly JsonColumn[],
  rows: readonly object[],
): Promise<void> {
  if (rows.length === 0) return;
  await db.execute(insertFromJsonSql(table, columns, rows));
}

// ---------------------------------------------------------------------------------------------
// The postback log

export type PostbackOutcome = (typeof receivedPostbacks.$inferSelect)["outcome"];
export type ReceivedPostback = typeof receivedPostbacks.$inferSelect;

/** One received postback (or tag conversion) and what became of it, as the log stores it. */
export interface ReceivedPostbackRow {
  id: string;
  workspaceId: string;
  receivedAt: Date;
  method: string;
  /** "postback", "tag" or "action". */
  channel: string;
  ip: string | null;
  params: Record<string, unknown>;
  hitId: string | null;
  visitorId: string | null;
  tx: string | null;
  statusWord: string | null;
  outcome: PostbackOutcome;
  /** Plain words for the user: "hit not found", "unreplaced macro in hit", … */
  reason: string | null;
  httpStatus: number;
  conversionId: string | null;
}

/**
 * Appends log rows in one statement. Rows may span workspaces (a group-commit batch); each row
 * carries its own workspace_id.
 */
export const RECEIVED_POSTBACK_COLUMNS: readonly JsonColumn[] = [
  ["id", "id", "uuid"],
  ["workspace_id", "workspaceId", "uuid"],
  ["received_at", "receivedAt", "timestamptz"],
  ["method", "method", "text"],
  ["channel", "channel", "text"],
  ["ip", "ip", "text"],
  ["params", "params", "jsonb"],
  ["hit_id", "hitId", "uuid"],
  ["visitor_id", "visitorId", "uuid"],
  ["tx", "tx", "text"],
  ["status_word", "statusWord", "text"],
  ["outcome", "outcome", "postback_outcome"],
  ["reason", "reason", "text"],
  ["http_status", "httpStatus", "int"],
  ["conversion_id", "conversionId", "uuid"],
];

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
