import { createHash } from "node:crypto";
import { and, asc, desc, eq, gt, inArray, type SQL, sql } from "drizzle-orm";
import type { Database, DbClient, Executor } from "../client.ts";
import {
  conversionImportBatches,
  conversionImportChunks,
  conversionImportMappings,
  conversionImportRefusals,
  conversionImports,
  type ImportMapping,
} from "../schema/index.ts";
import { withWorkspace, workspaceScope } from "../tenancy.ts";
import { insertFromArraysSql, insertFromJsonSql, jsonParam } from "./bulk.ts";
import {
  CONVERSION_COLUMNS,
  type ConversionBatchRead,
  type ConversionBatchWrite,
  DELIVERY_COLUMNS,
  endsOnce,
  OUTBOX_COLUMNS,
  openBatchConnection,
  REVISION_COLUMNS,
  runPreparedOn,
  TOUCH_COLUMNS,
  updateConversionsSql,
} from "./conversions/batch.ts";
import type { ConversionIdentityRef } from "./conversions/read.ts";
import { listLiveEventTypes } from "./event-types.ts";
import {
  contributionRows,
  deleteZeroRollupRowsSql,
  lockRollupLedgerRowsSql,
  settleImportedConversionsSql,
} from "./rollups.ts";

// Conversion imports: the record of each import, its stored file, its ledger of applied rows and its
// refused rows. Every function takes the workspace and filters by it; callers run them inside
// withWorkspace (row-level security), except the batch statements, which ride on
// runConversionBatch's own workspace-scoped transaction.

export type ConversionImport = typeof conversionImports.$inferSelect;
export type NewConversionImport = typeof conversionImports.$inferInsert;
export type ConversionImportRefusal = typeof conversionImportRefusals.$inferSelect;

export async function insertConversionImport(
  db: Executor,
  row: NewConversionImport,
): Promise<ConversionImport> {
  const [created] = await db.insert(conversionImports).values(row).returning();
  if (!created) throw new Error("conversion import not created");
  return created;
}

export async function findConversionImport(
  db: Executor,
  input: { workspaceId: string; id: string },
): Promise<ConversionImport | undefined> {
  const [row] = await db
    .select()
    .from(conversionImports)
    .where(and(eq(conversionImports.workspaceId, input.workspaceId), eq(conversionImports.id, input.id)))
    .limit(1);
  return row;
}

/** An import of the same file that did not finish (the CLI resumes it rather than starting again). */
export async function findUnfinishedImportOfFile(
  db: Executor,
  input: { workspaceId: string; fileSha256: string },
): Promise<ConversionImport | undefined> {
  const [row] = await db
    .select()
    .from(conversionImports)
    .where(
      and(
        eq(conversionImports.workspaceId, input.workspaceId),
        eq(conversionImports.fileSha256, input.fileSha256),
        inArray(conversionImports.status, ["queued", "running", "failed"]),
      ),
    )
    .orderBy(desc(conversionImports.createdAt))
    .limit(1);
  return row;
}

export async function listConversionImports(
  db: Executor,
  input: { workspaceId: string; limit: number },
): Promise<ConversionImport[]> {
  return db
    .select()
    .from(conversionImports)
    .where(eq(conversionImports.workspaceId, input.workspaceId))
    .orderBy(desc(conversionImports.createdAt), desc(conversionImports.id))
    .limit(input.limit);
}

export async function updateConversionImport(
  db: Executor,
  input: { workspaceId: string; id: string },
  set: Partial<
    Pick<
      ConversionImport,
      "status" | "error" | "startedAt" | "finishedAt" | "fileSha256" | "fileBytes" | "mapping" | "options"
    >
  >,
): Promise<ConversionImport | undefined> {
  const [row] = await db
    .update(conversionImports)
    .set(set)
    .where(and(eq(conversionImports.workspaceId, input.workspaceId), eq(conversionImports.id, input.id)))
    .returning();
  return row;
}

/** Appends one piece of an uploaded file; a piece sent twice (a retried request) is stored once. */
export async function insertImportChunk(
  db: Executor,
  input: { workspaceId: string; importId: string; seq: number; data: Buffer },
): Promise<void> {
  await db.insert(conversionImportChunks).values(input).onConflictDoNothing();
  await db
    .update(conversionImports)
    .set({ fileBytes: sql`${conversionImports.fileBytes} + ${input.data.length}` })
    .where(
      and(eq(conversionImports.workspaceId, input.workspaceId), eq(conversionImports.id, input.importId)),
    );
}

/**
 * The pieces of an uploaded file in order, one at a time: memory holds one piece, whatever the file's
 * size. Each read is its own short workspace-scoped transaction (none is held open across a long import).
 */
export async function* readImportChunks(
  db: Database,
  input: { workspaceId: string; importId: string },
): AsyncGenerator<Buffer> {
  let after = -1;
  for (;;) {
    const [row] = await withWorkspace(db, input.workspaceId, (tx) =>
      tx
        .select({ seq: conversionImportChunks.seq, data: conversionImportChunks.data })
        .from(conversionImportChunks)
        .where(
          and(
            eq(conversionImportChunks.workspaceId, input.workspaceId),
            eq(conversionImportChunks.importId, input.importId),
            gt(conversionImportChunks.seq, after),
          ),
        )
        .orderBy(asc(conversionImportChunks.seq))
        .limit(1),
    );
    if (!row) return;
    after = row.seq;
    yield row.data;
  }
}

export async function listImportRefusals(
  db: Executor,
  input: { workspaceId: string; importId: string },
): Promise<ConversionImportRefusal[]> {
  return db
    .select()
    .from(conversionImportRefusals)
    .where(
      and(
        eq(conversionImportRefusals.workspaceId, input.workspaceId),
        eq(conversionImportRefusals.importId, input.importId),
      ),
    )
    .orderBy(asc(conversionImportRefusals.line));
}

export async function findImportMapping(
  db: Executor,
  input: { workspaceId: string },
): Promise<ImportMapping | null> {
  const [row] = await db
    .select({ mapping: conversionImportMappings.mapping })
    .from(conversionImportMappings)
    .where(eq(conversionImportMappings.workspaceId, input.workspaceId))
    .limit(1);
  return row?.mapping ?? null;
}

export async function saveImportMapping(
  db: Executor,
  input: { workspaceId: string; mapping: ImportMapping },
): Promise<void> {
  await db
    .insert(conversionImportMappings)
    .values(input)
    .onConflictDoUpdate({ target: conversionImportMappings.workspaceId, set: { mapping: input.mapping } });
}

/**
 * Of these row hashes (hex), those some import of the workspace already applied, with where. The
 * hashes go in as an array (`= any(array(…))`): one primary-key probe each. As a subquery the planner
 * hash-joined them against the workspace's whole ledger, a read growing with every row imported
 * (29 ms a batch at 38,000 rows, so a million-row import costs the square of its size).
 */
export async function findImportedRows(
  db: Executor,
  input: { workspaceId: string; hashes: readonly string[] },
): Promise<Map<string, { importId: string; line: number }>> {
  const out = new Map<string, { importId: string; line: number }>();
  if (input.hashes.length === 0) return out;
  const rows = await db.execute<{ h: string; import_id: string; line: number }>(sql`
    select encode(l.row_hash, 'hex') as h, l.import_id, l.line
    from conversion_import_ledger l
    where l.workspace_id = ${input.workspaceId}::uuid
      and l.row_hash = any(array(select decode(x, 'hex') from unnest(${`{${input.hashes.join(",")}}`}::text[]) as x))`);
  for (const r of rows) out.set(r.h, { importId: r.import_id, line: Number(r.line) });
  return out;
}

/** A hit an import row may convert, found by the traffic source's click id or the visitor id. */
export interface ImportCandidateHit {
  key: string;
  hitId: string;
  visitorId: string;
  nodeId: string;
  pageId: string | null;
  pageKind: "lander" | "offer" | "external" | "none";
  funnelId: string;
  trafficSourceId: string | null;
  at: number;
}

type CandidateRow = {
  key: string;
  id: string;
  visitor_id: string;
  node_id: string;
  page_id: string | null;
  page_kind: ImportCandidateHit["pageKind"];
  funnel_id: string;
  traffic_source_id: string | null;
  ms: string;
};

function mapCandidate(r: CandidateRow): ImportCandidateHit {
  return {
    key: r.key,
    hitId: r.id,
    visitorId: r.visitor_id,
    nodeId: r.node_id,
    pageId: r.page_id,
    pageKind: r.page_kind,
    funnelId: r.funnel_id,
    trafficSourceId: r.traffic_source_id,
    at: Math.round(Number(r.ms)),
  };
}

/** Lander and offer hits carrying these click ids (every hit of a journey carries its entry's click id). */
export async function findHitsByExternalIds(
  db: Executor,
  input: { workspaceId: string; externalIds: readonly string[] },
): Promise<ImportCandidateHit[]> {
  if (input.externalIds.length === 0) return [];
  const rows = await db.execute<CandidateRow>(sql`
    select h.external_id as key, h.id, h.visitor_id, h.node_id, h.page_id, h.page_kind, h.funnel_id,
           h.traffic_source_id, (extract(epoch from h.created_at) * 1000)::text as ms
    from hits h
    where h.workspace_id = ${input.workspaceId}::uuid
      and h.external_id = any(select value from json_array_elements_text(${jsonParam(input.externalIds)}::json))
      and h.page_kind in ('lander', 'offer')`);
  return rows.map(mapCandidate);
}

/** Lander and offer hits of these visitors: unlike a postback's session, kept for ever. */
export async function findHitsByVisitors(
  db: Executor,
  input: { workspaceId: string; visitorIds: readonly string[] },
): Promise<ImportCandidateHit[]> {
  if (input.visitorIds.length === 0) return [];
  const rows = await db.execute<CandidateRow>(sql`
    select h.visitor_id::text as key, h.id, h.visitor_id, h.node_id, h.page_id, h.page_kind, h.funnel_id,
           h.traffic_source_id, (extract(epoch from h.created_at) * 1000)::text as ms
    from hits h
    where h.visitor_id = any(${`{${input.visitorIds.join(",")}}`}::uuid[])
      and h.workspace_id = ${input.workspaceId}::uuid
      and h.page_kind in ('lander', 'offer')`);
  return rows.map(mapCandidate);
}

/** The workspace's live custom event types by alias, as the conversion rules take them. */
export const listImportEventTypes = listLiveEventTypes;

export interface ImportBatchProgress {
  workspaceId: string;
  importId: string;
  /** The data rows (1-based) this batch handled, whatever became of them. */
  positions: readonly number[];
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  refused: number;
  minHitAt: Date | null;
  ledger: ReadonlyArray<{ hash: string; line: number }>;
  refusals: ReadonlyArray<{ line: number; reason: string; raw: Record<string, string> }>;
}

/**
 * What an import batch writes besides the conversions, in the same statement and commit: its ledger
 * rows, its refused rows, and its own progress row (conversion_import_batches; never the import's row,
 * which every lane would then queue on). A batch that somehow commits twice fails on its progress row's
 * key (its first position), so nothing is counted twice.
 */
export function importBatchWrites(p: ImportBatchProgress): SQL[] {
  if (p.positions.length === 0) throw new Error("an import batch handles at least one row");
  const refusals = p.refusals.map((r) => ({ l: r.line, r: r.reason, x: r.raw }));
  return [
    sql`insert into conversion_import_ledger (workspace_id, row_hash, import_id, line)
        select ${p.workspaceId}::uuid, decode(x.h, 'hex'), ${p.importId}::uuid, x.l
        from unnest(${`{${p.ledger.map((l) => l.hash).join(",")}}`}::text[], ${`{${p.ledger.map((l) => l.line).join(",")}}`}::int[]) as x(h, l)
        on conflict do nothing`,
    sql`insert into conversion_import_refusals (workspace_id, import_id, line, reason, raw)
        select ${p.workspaceId}::uuid, ${p.importId}::uuid, x.l, x.r, x.x
        from json_to_recordset(${jsonParam(refusals)}::json) as x(l int, r text, x jsonb)
        on conflict do nothing`,
    sql`insert into conversion_import_batches
          (workspace_id, import_id, first_position, positions, created, updated, deleted, unchanged, refused, min_hit_at)
        values (${p.workspaceId}::uuid, ${p.importId}::uuid, ${p.positions[0]}::int, ${`{${p.positions.join(",")}}`}::int[],
          ${p.created}::int, ${p.updated}::int, ${p.deleted}::int, ${p.unchanged}::int, ${p.refused}::int,
          ${p.minHitAt === null ? null : p.minHitAt.toISOString()}::timestamptz)`,
  ];
}

/** The rows committed batches of an unfinished step hold, and their counts: what a resumed run skips. */
export async function findImportBatches(
  db: Executor,
  input: { workspaceId: string; importId: string },
): Promise<{
  positions: Set<number>;
  counts: { created: number; updated: number; deleted: number; unchanged: number; refused: number };
}> {
  const rows = await db
    .select()
    .from(conversionImportBatches)
    .where(
      and(
        eq(conversionImportBatches.workspaceId, input.workspaceId),
        eq(conversionImportBatches.importId, input.importId),
      ),
    );
  const counts = { created: 0, updated: 0, deleted: 0, unchanged: 0, refused: 0 };
  const positions = new Set<number>();
  for (const r of rows) {
    for (const p of r.positions) positions.add(p);
    counts.created += r.created;
    counts.updated += r.updated;
    counts.deleted += r.deleted;
    counts.unchanged += r.unchanged;
    counts.refused += r.refused;
  }
  return { positions, counts };
}

/**
 * Ends a step once each of its lanes has committed: the counts of the batches it (and a crashed run
 * before it) committed move to the import, those batches go, and `rowsDone` moves past the step, in
 * one statement.
 */
export async function endImportStep(
  db: Executor,
  input: { workspaceId: string; importId: string; rowsDone: number },
): Promise<void> {
  await db.execute(sql`
    with gone as (
      delete from conversion_import_batches
      where workspace_id = ${input.workspaceId}::uuid and import_id = ${input.importId}::uuid
        -- Only batches wholly behind the new position (positions ascend): a run resumed with another
        -- step size may hold a batch of the crashed run reaching past this step.
        and positions[array_upper(positions, 1)] <= ${input.rowsDone}::int
      returning created, updated, deleted, unchanged, refused, min_hit_at
    ), total as (
      select coalesce(sum(created), 0)::int as created, coalesce(sum(updated), 0)::int as updated,
             coalesce(sum(deleted), 0)::int as deleted, coalesce(sum(unchanged), 0)::int as unchanged,
             coalesce(sum(refused), 0)::int as refused, min(min_hit_at) as min_hit_at
      from gone
    )
    update conversion_imports i set
      rows_done = greatest(i.rows_done, ${input.rowsDone}::int), created = i.created + t.created,
      updated = i.updated + t.updated, deleted = i.deleted + t.deleted, unchanged = i.unchanged + t.unchanged,
      refused = i.refused + t.refused, min_hit_at = least(i.min_hit_at, t.min_hit_at), updated_at = now()
    from total t
    where i.workspace_id = ${input.workspaceId}::uuid and i.id = ${input.importId}::uuid`);
}

/**
 * Brings the rollup ledger of every conversion of a range up to date in one statement, ahead of a
 * rebuild of that range from raw rows (recomputeConversionRollups): a million imported conversions
 * would otherwise be caught up one at a time. Only conversions whose every contribution lies in the
 * range are settled here (the rebuild then makes their rows right); any other is left to the
 * rebuild's own per-conversion catch-up. Same lock and isolation as the rebuild.
 */
/** The conversions of the range whose rollup ledger is behind and whose every touch lies in it. */
function staleInRangeSql(input: { workspaceId: string; from: Date; to: Date }): SQL {
  const from = input.from.toISOString();
  const to = input.to.toISOString();
  return sql`
    select c.id, c.revision from conversions c
    left join conversion_rollup_state s on s.conversion_id = c.id
    where c.workspace_id = ${input.workspaceId} and c.hit_at >= ${from}::timestamptz and c.hit_at < ${to}::timestamptz
      and (s.conversion_id is null or s.applied_revision < c.revision)
      and not exists (
        select 1 from touches t
        where t.workspace_id = c.workspace_id and t.conversion_id = c.id
          and (t.hit_at < ${from}::timestamptz or t.hit_at >= ${to}::timestamptz))`;
}

/** Writes the ledger of the conversions in `import_settle` (id, revision): their current contribution. */
function settleLedgerSql(workspaceId: string): SQL {
  return sql`
    with parts as (
      select x.conversion_id, x.hour_utc, x.funnel_id, x.node_id, x.page_id, x.traffic_source_id, x.country,
             x.device_type, x.os, x.browser, x.event_key, x.touch_kind, count(*)::int as conversions,
             trim_scale(sum(x.revenue))::text as revenue
      from (${contributionRows(workspaceId, { conversionIds: sql`select id from import_settle` })}) x
      group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
    ), contributions as (
      select conversion_id, jsonb_agg(jsonb_build_object(
        'hour', to_char(hour_utc, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'funnelId', funnel_id, 'nodeId', node_id,
        'pageId', page_id, 'trafficSourceId', traffic_source_id, 'country', country, 'deviceType', device_type,
        'os', os, 'browser', browser, 'eventKey', event_key, 'touchKind', touch_kind,
        'conversions', conversions, 'revenue', revenue)) as contribution
      from parts group by conversion_id
    ), settled as (
      insert into conversion_rollup_state as s (conversion_id, workspace_id, applied_revision, contribution)
      select k.id, ${workspaceId}::uuid, k.revision, coalesce(contributions.contribution, '[]'::jsonb)
      from import_settle k left join contributions on contributions.conversion_id = k.id
      on conflict (conversion_id) do update
        set applied_revision = excluded.applied_revision, contribution = excluded.contribution, updated_at = now()
        where s.applied_revision < excluded.applied_revision
      returning 1
    )
    select count(*)::int as n from settled`;
}

/**
 * Brings the rollup ledger of every conversion of a range up to date in one statement, ahead of a
 * rebuild of that range from raw rows (recomputeConversionRollups): a million imported conversions
 * would otherwise be caught up one at a time. Only conversions whose every contribution lies in the
 * range are settled here (the rebuild then makes their rows right); any other is left to the
 * rebuild's own per-conversion catch-up. Same lock and isolation as the rebuild. The conversions to
 * settle go to an analyzed temporary table: right after a large import the planner's statistics
 * still say the tables are small, and would pick nested loops over a million rows.
 */
export async function settleConversionRollupLedger(
  db: Database,
  input: { workspaceId: string; from: Date; to: Date },
): Promise<number> {
  return db.transaction(
    async (tx) => {
      await tx.execute(sql`lock table conversion_rollup_state in share row exclusive mode`);
      await tx.execute(sql`select set_config('hitrail.workspace_id', ${input.workspaceId}, true)`);
      await tx.execute(sql`create temporary table import_settle on commit drop as ${staleInRangeSql(input)}`);
      await tx.execute(sql`analyze import_settle`);
      // Statistics lag a bulk load: with conversions and touches still "small" to the planner, a nested
      // loop over every settled conversion would be chosen. Hash joins are linear whatever they say.
      await tx.execute(sql`set local enable_nestloop = off`);
      const rows = await tx.execute<{ n: number }>(settleLedgerSql(input.workspaceId));
      return Number(rows[0]?.n ?? 0);
    },
    { isolationLevel: "repeatable read" },
  );
}

// ---------------------------------------------------------------------------------------------
// An import batch's transaction: the postback's reads, a bulk write, its rollups settled

/** A postback batch's rows (an import logs no received postbacks) and the import's own progress. */
export interface ImportChunkWrite extends Omit<ConversionBatchWrite, "postbacks" | "also"> {
  progress: ImportBatchProgress;
}

export interface ImportChunk {
  read: ConversionBatchRead;
  /**
   * Writes the batch (one statement: its rows, ledger, refusals and progress), settles its
   * conversions' rollups, and commits: all of it, or none.
   */
  commit(write: ImportChunkWrite): Promise<void>;
  rollback(): Promise<void>;
}

/**
 * An import batch's write as one statement (data-modifying CTEs): the rows of the postback's batch
 * write (an import logs no received postbacks), then its ledger, refusals and progress. The three
 * tables written a row per conversion go in as one array per column (insertFromArraysSql), where the
 * postback's statement sends one JSON document each: decoding the JSON was a third of the write.
 */
function importBatchWriteSql(write: ImportChunkWrite): SQL {
  const parts = [
    updateConversionsSql(write.updates),
    insertFromArraysSql("conversions", CONVERSION_COLUMNS, write.inserts),
    insertFromArraysSql("conversion_revisions", REVISION_COLUMNS, write.revisions),
    insertFromArraysSql("touches", TOUCH_COLUMNS, write.touches),
    insertFromJsonSql("outbound_deliveries", DELIVERY_COLUMNS, write.deliveries),
    insertFromJsonSql("outbox", OUTBOX_COLUMNS, write.outbox),
    ...importBatchWrites(write.progress),
  ];
  return sql`with ${sql.join(
    parts.map((p, i) => sql`${sql.raw(`w${i}`)} as (${p})`),
    sql`, `,
  )} select 1`;
}

/**
 * Opens one import batch: the postback's own transaction start (the identity locks and the reads of
 * the converting hits, their paths and the stored conversions), with the commit not waiting for the
 * disk (`synchronous_commit = off`: an import is resumable, and a batch lost with the server's last
 * moments is done again from the import's position, which commits with it).
 */
export async function openImportChunk(
  client: Pick<DbClient, "sql">,
  input: { workspaceId: string; identities: readonly ConversionIdentityRef[] },
): Promise<ImportChunk> {
  const scope = workspaceScope(input.workspaceId);
  const batch = await openBatchConnection(client, { identities: input.identities }, scope, [
    "set local synchronous_commit = off",
  ]);
  return endsOnce(batch, async (conn, write: ImportChunkWrite) => {
    const ws = input.workspaceId;
    const ids = (rows: ReadonlyArray<{ id?: string | undefined }>) =>
      rows.flatMap((r) => (r.id === undefined ? [] : [r.id]));
    const changed = [...ids(write.inserts), ...ids(write.updates)];
    const statements: SQL[] = [importBatchWriteSql(write)];
    if (changed.length > 0) {
      // The rollups, exactly once: with the conversions, in this transaction (imports write no
      // per-conversion rollup job, and the rollup sweep leaves import revisions to this). A batch's
      // few thousand conversions are reached by id, index probes. Left to itself, the planner
      // (statistics lagging the load) bitmap-ANDed each probe of touches with the workspace's
      // whole hit_at index: seconds a batch, growing with the table.
      statements.push(sql`select set_config('enable_bitmapscan', 'off', true)`);
      if (write.updates.length > 0) statements.push(lockRollupLedgerRowsSql(ids(write.updates)));
      statements.push(settleImportedConversionsSql(ws, changed));
    }
    const settled = statements.length - 1;
    const results = await Promise.all(statements.map((s) => runPreparedOn(conn, s)));
    const zero = (results[settled]?.[0] as { zero_rows?: string } | undefined)?.zero_rows;
    if (changed.length > 0 && zero !== undefined && zero !== "{}")
      await runPreparedOn(conn, deleteZeroRollupRowsSql(ws, zero));
    await conn.unsafe("commit");
  });
}

/** The advisory-lock key of a workspace's imports (a signed 64-bit number, as Postgres takes it). */
function importLockKey(workspaceId: string): string {
  return createHash("sha256")
    .update(`conversion-import\u0000${workspaceId}`)
    .digest()
    .readBigInt64BE(0)
    .toString();
}

/**
 * Holds the workspace's import lock until `release`: two imports of one workspace never run at once
 * (their batches would interleave, and a row of one could repeat a row of the other still in
 * flight), the second waits here for the first to end. A session lock on its own connection, so a
 * process that dies releases it with its connection.
 */
export async function lockWorkspaceImports(
  client: Pick<DbClient, "sql">,
  input: { workspaceId: string; onWait?: () => void },
): Promise<{ release(): Promise<void> }> {
  const conn = await client.sql.reserve();
  try {
    const key = importLockKey(input.workspaceId);
    const [got] = await conn.unsafe<Array<{ ok: boolean }>>("select pg_try_advisory_lock($1::bigint) as ok", [
      key,
    ]);
    if (!got?.ok) {
      input.onWait?.();
      await conn.unsafe("select pg_advisory_lock($1::bigint)", [key]);
    }
    let held = true;
    return {
      async release() {
        if (!held) return;
        held = false;
        await conn.unsafe("select pg_advisory_unlock($1::bigint)", [key]).catch(() => {});
        conn.release();
      },
    };
  } catch (error) {
    conn.release();
    throw error;
  }
}
