import { type SQL, sql } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type postgres from "postgres";
import type { DbClient } from "../../client.ts";
import { conversionRevisions, conversions, outboundDeliveries, outbox, touches } from "../../schema/index.ts";
import { runInWorkspaces, WORKSPACE_SCOPE_STATEMENT, workspaceScope } from "../../tenancy.ts";
import {
  type BulkRow,
  bulkColumns,
  columnArrays,
  insertFromArraysText,
  type JsonColumn,
  jsonParam,
} from "../bulk.ts";
import { RECEIVED_POSTBACK_COLUMNS, type ReceivedPostbackRow } from "../postback-log.ts";
import {
  type ConversionIdentityRef,
  type ConversionPathHit,
  lockKeys,
  lockSql,
  mapPathRow,
  mapStoredRow,
  type PathRow,
  pathsSql,
  type ReplayedPostbackRef,
  recordedSql,
  type StoredConversion,
  type StoredRow,
  storedSql,
} from "./read.ts";

// The conversion write path as group commit: one transaction per batch of postbacks, in two round
// trips on one connection. The caller opens the batch (BEGIN, the identity locks and the reads go
// out together), decides from what was read, and commits what it decided (the write and COMMIT go
// out together).

// ---------------------------------------------------------------------------------------------
// The rows a batch writes: exactly these columns of each table

const CONVERSION_KEYS = [
  "id",
  "workspaceId",
  "hitId",
  "eventTypeId",
  "eventKey",
  "tx",
  "seq",
  "revenue",
  "status",
  "revision",
  "visitorId",
  "funnelId",
  "nodeId",
  "pageId",
  "pageKind",
  "trafficSourceId",
  "hitAt",
  "convertedAt",
  "deletedAt",
] as const;

/** `hitAt` copies the hit's created_at as Postgres printed it, so it is stored without rounding. */
export type NewConversionRow = Omit<
  BulkRow<typeof conversions, (typeof CONVERSION_KEYS)[number]>,
  "hitAt"
> & {
  hitAt: string;
};

/** A stored conversion's new state; a conversion appears at most once per batch. */
export type ConversionStateRow = BulkRow<
  typeof conversions,
  "id" | "workspaceId" | "revenue" | "status" | "revision" | "deletedAt"
>;

const REVISION_KEYS = [
  "id",
  "workspaceId",
  "conversionId",
  "revision",
  "action",
  "previousRevenue",
  "revenue",
  "status",
  "statusWord",
  "source",
  "receivedPostbackId",
  "raw",
  "createdAt",
] as const;

export type ConversionRevisionRow = BulkRow<typeof conversionRevisions, (typeof REVISION_KEYS)[number]>;

const TOUCH_KEYS = [
  "id",
  "workspaceId",
  "conversionId",
  "hitId",
  "funnelId",
  "nodeId",
  "pageId",
  "kind",
  "position",
  "hitAt",
] as const;

/** `hitAt` copies the touched hit's created_at as Postgres printed it (or an ISO string). */
export type TouchRow = Omit<BulkRow<typeof touches, (typeof TOUCH_KEYS)[number]>, "hitAt"> & {
  hitAt: string;
};

const DELIVERY_KEYS = [
  "id",
  "workspaceId",
  "conversionId",
  "revision",
  "trafficSourceId",
  "event",
  "url",
  "unknownMacros",
  "notBefore",
] as const;

export type OutboundDeliveryRow = BulkRow<typeof outboundDeliveries, (typeof DELIVERY_KEYS)[number]> & {
  notBefore: Date;
};

const OUTBOX_KEYS = ["id", "workspaceId", "topic", "jobId", "payload", "delayMs"] as const;

/**
 * A job to hand to BullMQ once the transaction that wrote it commits (the relay moves it). The job
 * itself is built by @hitrail/queue (`outboxJob`); the database stores what it is given.
 */
export type OutboxRow = BulkRow<typeof outbox, (typeof OUTBOX_KEYS)[number]>;

/** An outbox job as @hitrail/queue builds it (`outboxJob`), before it has a row id and a workspace. */
export type OutboxJobRow = Omit<OutboxRow, "id" | "workspaceId">;

export const CONVERSION_COLUMNS = bulkColumns(conversions, CONVERSION_KEYS);
export const REVISION_COLUMNS = bulkColumns(conversionRevisions, REVISION_KEYS);
export const TOUCH_COLUMNS = bulkColumns(touches, TOUCH_KEYS);
export const DELIVERY_COLUMNS = bulkColumns(outboundDeliveries, DELIVERY_KEYS);
export const OUTBOX_COLUMNS = bulkColumns(outbox, OUTBOX_KEYS);

// ---------------------------------------------------------------------------------------------
// One batch, one statement

export interface ConversionBatchWrite {
  inserts: readonly NewConversionRow[];
  updates: readonly ConversionStateRow[];
  revisions: readonly ConversionRevisionRow[];
  touches: readonly TouchRow[];
  deliveries: readonly OutboundDeliveryRow[];
  outbox: readonly OutboxRow[];
  postbacks: readonly ReceivedPostbackRow[];
}

/**
 * Each conversion is found by its primary key alone: the workspace test is written so that no index
 * serves it, so no plan, however stale its statistics, can reach conversions through a
 * workspace-leading index instead (the tracker runs it on a cached generic plan: BatchPlanning).
 */
export function updateConversionsSql(rows: readonly ConversionStateRow[]) {
  return sql`
    update conversions c
    set revenue = r.revenue, status = r.status, revision = r.revision, deleted_at = r."deletedAt", updated_at = now()
    from json_to_recordset(${jsonParam(rows)}::json)
      as r(id uuid, "workspaceId" uuid, revenue numeric, status conversion_status, revision int, "deletedAt" timestamptz)
    where c.id = r.id and (c.workspace_id = r."workspaceId") is true`;
}

type InsertedRows = Omit<ConversionBatchWrite, "updates">;

/** The tables a batch inserts into, in the order of its statement's CTEs. */
const INSERTED: ReadonlyArray<
  readonly [table: string, columns: readonly JsonColumn[], rows: (batch: InsertedRows) => readonly object[]]
> = [
  ["conversions", CONVERSION_COLUMNS, (b) => b.inserts],
  ["conversion_revisions", REVISION_COLUMNS, (b) => b.revisions],
  ["touches", TOUCH_COLUMNS, (b) => b.touches],
  ["outbound_deliveries", DELIVERY_COLUMNS, (b) => b.deliveries],
  ["outbox", OUTBOX_COLUMNS, (b) => b.outbox],
  ["received_postbacks", RECEIVED_POSTBACK_COLUMNS, (b) => b.postbacks],
];

/**
 * The batch's writes as one statement of data-modifying CTEs, each table's rows as one typed array
 * per column ($1… in INSERTED's order, after the updates' when there are any): the tracker's batch.
 * Each part writes what a function scan of its arrays yields, so its plan is the same whatever the
 * statistics say: it runs on the connection's generic plan (the tracker's batch is `keyed`:
 * BatchPlanning), planned once, not once per batch (about half a millisecond of the database's CPU a
 * batch, measured with EXPLAIN (SUMMARY)). Arrays, not one JSON document per table: PostgreSQL
 * validated each document (json_in), then parsed it again in json_to_recordset, hashing every
 * object's keys, about a quarter of its CPU on the batch (profiled with perf); an array is decoded
 * value by value by its element type's input function. Its text is made once: built through drizzle,
 * the statement was assembled, rendered and hashed again by the driver every batch, though it never
 * changes. There are two texts, with and without the update of stored conversions, so that a batch of
 * new conversions only opens no update, and a batch with updates sends one statement, not two.
 */
const BATCH_INSERT_PARTS = (() => {
  let next = 1;
  return INSERTED.map(([table, columns]) => {
    const text = insertFromArraysText(table, columns, next);
    next += columns.length;
    return text;
  });
})();

/** The update of stored conversions from arrays, its parameters from `$first` on (ConversionStateRow). */
const UPDATE_COLUMNS: readonly JsonColumn[] = [
  ["id", "id", "uuid"],
  ["workspace_id", "workspaceId", "uuid"],
  ["revenue", "revenue", "numeric"],
  ["status", "status", "conversion_status"],
  ["revision", "revision", "int"],
  ["deleted_at", "deletedAt", "timestamptz"],
];

function updateFromArraysText(first: number): string {
  const arrays = UPDATE_COLUMNS.map(([, , type], i) => `unnest($${first + i}::${type}[])`).join(", ");
  // By primary key alone, as updateConversionsSql (the workspace test served by no index).
  return `update conversions c
    set revenue = r.revenue, status = r.status, revision = r.revision, deleted_at = r.deleted_at, updated_at = now()
    from (select ${arrays}) as r(id, workspace_id, revenue, status, revision, deleted_at)
    where c.id = r.id and (c.workspace_id = r.workspace_id) is true`;
}

const BATCH_INSERT_TEXT = `with ${BATCH_INSERT_PARTS.map((p, i) => `w${i} as (${p})`).join(", ")} select 1`;

const BATCH_INSERT_PARAMS = INSERTED.reduce((n, [, columns]) => n + columns.length, 0);

/** Exported for the test of its generic plan (conversion-batch-plans). */
export const BATCH_WRITE_TEXT = `with u as (${updateFromArraysText(BATCH_INSERT_PARAMS + 1)}), ${BATCH_INSERT_PARTS.map(
  (p, i) => `w${i} as (${p})`,
).join(", ")} select 1`;

/**
 * The batch's writes as one statement and its parameters: BATCH_INSERT_TEXT, or BATCH_WRITE_TEXT when
 * it updates stored conversions, one array parameter per column.
 */
function batchWrite(batch: ConversionBatchWrite): [text: string, params: string[]] {
  const params = INSERTED.flatMap(([, columns, rows]) => columnArrays(columns, rows(batch)));
  if (batch.updates.length === 0) return [BATCH_INSERT_TEXT, params];
  params.push(...columnArrays(UPDATE_COLUMNS, batch.updates));
  return [BATCH_WRITE_TEXT, params];
}

/** The batch's writes (batchWrite) as a prepared statement on the batch's own connection. */
export function runBatchWriteOn(conn: postgres.ReservedSql, batch: ConversionBatchWrite) {
  const [text, params] = batchWrite(batch);
  return conn.unsafe(text, params, { prepare: true });
}

// ---------------------------------------------------------------------------------------------
// The transaction: open (locks and reads), then commit (the write) or roll back

const dialect = new PgDialect({ casing: "snake_case" });

/** Runs a built statement as a named prepared statement: after its first use on a connection it is
 * one message, with no describe round trip first, so it pipelines behind the statements before it. */
export function runPreparedOn(conn: postgres.ReservedSql, query: SQL) {
  const q = dialect.sqlToQuery(query);
  return conn.unsafe<Record<string, unknown>[]>(q.sql, q.params as postgres.ParameterOrJSON<never>[], {
    prepare: true,
  });
}

export interface ConversionBatchRead {
  paths: ConversionPathHit[];
  stored: StoredConversion[];
  /**
   * Of the replayed postbacks the caller named, those whose log row is already committed: a batch
   * answered "unavailable" may still have committed, and its spooled copy must not apply twice.
   * Read under the identity locks, so a commit still in flight is waited for, not missed.
   */
  alreadyRecorded: Set<string>;
}

export interface ConversionBatchInput {
  identities: readonly ConversionIdentityRef[];
  /** Workspaces of rows the batch writes besides its identities' (postback log entries). */
  workspaceIds?: readonly string[];
  replayed?: readonly ReplayedPostbackRef[];
}

/** An open batch transaction: what it read under its locks, and the one way to end it. */
export interface ConversionBatch {
  read: ConversionBatchRead;
  /** Writes what the batch decided and commits; the connection is released either way. */
  commit(write: ConversionBatchWrite): Promise<void>;
  /** Ends the transaction without writing (the caller failed to decide); safe after commit. */
  rollback(): Promise<void>;
}

/** An open batch transaction on its reserved connection, for the writers in this package. */
export interface OpenBatchConnection {
  conn: postgres.ReservedSql;
  read: ConversionBatchRead;
  /** Marks the transaction ended and releases the connection (after COMMIT went out). */
  release(): void;
  rollback(): Promise<void>;
}

/**
 * How a batch's statements are planned.
 * - `custom`: every statement planned for the tables as they are now, each batch (a conversion
 *   import: few, large batches, whose own statements join in ways a fixed plan may not fit).
 * - `keyed`: the reads run on the connection's cached generic plans, planned once instead of once per
 *   batch. Planning the paths statement afresh cost more of the database's CPU than running it (about
 *   1.6 ms of 2.5 ms for a batch of 16 postbacks, measured from the backend's CPU time), and the
 *   tracker's batches are small. A generic plan is made once and kept while the tables change under
 *   it, so it must be right for any size: the batch turns off the plans that are only right for a
 *   small table (sequential scans, hash and merge joins), leaving nested loops probing a key, and
 *   the statements name their rows by keys only (pathsSql, storedSql, runBatchWriteOn's update). Under load auto_explain caught
 *   generic plans made while conversions was small scanning all 16k conversions once per identity,
 *   per batch (60-320 ms a read), before these settings. The update of stored conversions and the
 *   inserts run on generic plans too (runBatchWriteOn).
 */
export type BatchPlanning = "custom" | "keyed";

/**
 * A `keyed` batch's opening as one prepared statement: the row-level security scope ($1), the
 * planner settings for the transaction and the identity locks ($2, lockKeys). One statement where
 * there were three: each statement of the pipeline is a Bind, an Execute and a Sync the database
 * answers and flushes on its own. The settings take effect from the next statement on (the reads),
 * and the locks need none of them; the reads come after, in statements of their own, so that their
 * snapshot is taken once the locks are held.
 */
const KEYED_OPEN = `select set_config('hitrail.workspace_id', $1, true), set_config('enable_seqscan', 'off', true),
  set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true),
  set_config('plan_cache_mode', 'force_generic_plan', true),
  (select count(pg_advisory_xact_lock(k))::int from unnest(string_to_array($2, ',')::bigint[]) as k) as n`;

/**
 * BEGIN, the row-level security scope, the identity locks and both reads, together on one reserved
 * connection (it runs them in order, so the reads happen under the locks). `setup` statements go out
 * right after BEGIN (a conversion import's `set local synchronous_commit = off`).
 */
export async function openBatchConnection(
  client: Pick<DbClient, "sql">,
  input: ConversionBatchInput,
  scope: string,
  setup: readonly string[] = [],
  planning: BatchPlanning = "custom",
): Promise<OpenBatchConnection> {
  // The keyed opening is one fixed statement (KEYED_OPEN); nothing calls it with setup statements.
  if (planning === "keyed" && setup.length > 0) throw new Error("a keyed batch takes no setup statements");
  const conn = await client.sql.reserve();
  let open = true;
  const rollback = async () => {
    if (!open) return;
    open = false;
    await conn.unsafe("rollback").catch(() => {});
    conn.release();
  };
  try {
    const hits = input.identities.map((i) => ({ workspaceId: i.workspaceId, hitId: i.hitId }));
    const replayed = input.replayed ?? [];
    const opening =
      planning === "keyed"
        ? [conn.unsafe(KEYED_OPEN, [scope, lockKeys(input.identities)], { prepare: true })]
        : [
            conn.unsafe(WORKSPACE_SCOPE_STATEMENT, [scope], { prepare: true }),
            // Plan every statement of a batch for the tables as they are now. A prepared statement
            // keeps the generic plan it made while conversions was small (see BatchPlanning).
            conn.unsafe("set local plan_cache_mode = force_custom_plan"),
            ...setup.map((statement) => conn.unsafe(statement)),
            runPreparedOn(conn, lockSql(input.identities)),
          ];
    const results = await Promise.all([
      conn.unsafe("begin"),
      ...opening,
      runPreparedOn(conn, pathsSql(hits)),
      runPreparedOn(conn, storedSql(input.identities)),
      replayed.length === 0 ? [] : runPreparedOn(conn, recordedSql(replayed)),
    ]);
    const [pathRows, storedRows, recordedRows] = results.slice(1 + opening.length);
    return {
      conn,
      read: {
        paths: (pathRows as unknown as PathRow[]).map(mapPathRow),
        stored: (storedRows as unknown as StoredRow[]).map(mapStoredRow),
        alreadyRecorded: new Set((recordedRows as Array<{ id: string }>).map((r) => String(r.id))),
      },
      release() {
        open = false;
        conn.release();
      },
      rollback,
    };
  } catch (error) {
    await rollback();
    throw error;
  }
}

/**
 * Opens one group-commit batch: BEGIN, the row-level security scope, the identity locks and both
 * reads go out together on one reserved connection (it runs them in order, so the reads happen under
 * the locks). The statements run prepared: through drizzle each would cost an extra describe round
 * trip, and a loaded database makes every round trip expensive.
 */
export async function openConversionBatch(
  client: Pick<DbClient, "sql">,
  input: ConversionBatchInput,
): Promise<ConversionBatch> {
  // Row-level security: the batch's transaction names every workspace it reads or writes.
  const scope = workspaceScope([
    ...input.identities.map((i) => i.workspaceId),
    ...(input.workspaceIds ?? []),
  ]);
  if (input.identities.length === 0) {
    // Log entries only: nothing to lock or read, and one statement in a transaction for its scope.
    return {
      read: { paths: [], stored: [], alreadyRecorded: new Set() },
      async commit(write) {
        const [text, params] = batchWrite(write);
        await runInWorkspaces(client.sql, scope.split(","), text, params);
      },
      async rollback() {},
    };
  }
  const batch = await openBatchConnection(client, input, scope, [], "keyed");
  return endsOnce(batch, async (conn, write: ConversionBatchWrite) => {
    // Generic plans still (BatchPlanning): the update probes conversions by primary key, and the
    // inserts have nothing to choose.
    await Promise.all([runBatchWriteOn(conn, write), conn.unsafe("commit")]);
  });
}

/**
 * The commit and rollback of a batch opened by openBatchConnection, for every writer of this
 * package: `send` writes what was decided and sends COMMIT; the connection is released either way,
 * a failure rolls back, and a second commit is refused (the transaction is gone).
 */
export function endsOnce<W>(
  batch: OpenBatchConnection,
  send: (conn: postgres.ReservedSql, write: W) => Promise<void>,
): { read: ConversionBatchRead; commit(write: W): Promise<void>; rollback(): Promise<void> } {
  let ended = false;
  return {
    read: batch.read,
    async commit(write) {
      if (ended) throw new Error("batch already ended");
      ended = true;
      try {
        await send(batch.conn, write);
        batch.release();
      } catch (error) {
        await batch.rollback();
        throw error;
      }
    },
    async rollback() {
      ended = true;
      await batch.rollback();
    },
  };
}

/**
 * One batch as a callback for the conversion import engine, which decides inside it: prefer opening
 * the batch (openConversionBatch) and deciding in the caller's own code, as the tracker does.
 */
export async function runConversionBatch(
  client: Pick<DbClient, "sql">,
  input: ConversionBatchInput,
  decide: (read: ConversionBatchRead) => ConversionBatchWrite,
): Promise<void> {
  const batch = await openConversionBatch(client, input);
  let write: ConversionBatchWrite;
  try {
    write = decide(batch.read);
  } catch (error) {
    await batch.rollback();
    throw error;
  }
  await batch.commit(write);
}
