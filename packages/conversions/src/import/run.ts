import { Readable } from "node:stream";
import {
  type ConversionImport,
  type DbClient,
  endImportStep,
  findConversionImport,
  findImportBatches,
  findWorkspaceById,
  lockWorkspaceImports,
  readImportChunks,
  recomputeConversionRollups,
  settleConversionRollupLedger,
  updateConversionImport,
  withWorkspace,
} from "@hitrail/db";
import { type ImportCounts, ImportEngine, type ImportWorkspace, type PreparedBatch } from "./engine.ts";
import { csvSource, type ImportRow, jsonSource, ndjsonObjects, type RowSource } from "./sources.ts";

export interface RunImportArgs {
  client: Pick<DbClient, "db" | "sql">;
  workspace: ImportWorkspace;
  importId: string;
  source: RowSource;
  /** Rows per step (the rows read together, split among the lanes). */
  batchSize?: number;
  /**
   * Batches committing side by side, each on its own connection (the pool needs this many plus two:
   * see importConnections). The rows of one hit always share a lane.
   */
  lanes?: number;
  now?: () => number;
  onProgress?: (progress: { rowsDone: number; counts: ImportCounts }) => void;
  /** Called once every row is applied (and, for an import begun before batches settled their rollups, before those are rebuilt). */
  onRowsApplied?: () => void;
  /** Called when another import of the workspace is running: this one waits for it to end. */
  onWait?: () => void;
  /** Called by each lane just before it commits (tests use it to crash with a step half committed). */
  beforeLaneCommit?: (step: number) => void | Promise<void>;
  /** Called after each committed step (tests use it to crash mid-file). */
  afterBatch?: (batch: number) => void | Promise<void>;
}

/** Rows per step: with two lanes, about 2,000 rows per transaction. */
export const IMPORT_BATCH_ROWS = 4_000;

/**
 * Lanes by default: the machine the target was set on has two cores, and a lane's batch spends
 * about as long in PostgreSQL as the importing process spends preparing and deciding it.
 */
export const IMPORT_LANES = 2;

/**
 * Connections an import wants from its pool: the workspace's import lock (held throughout), one per
 * lane, and the next step's reads beside them. With fewer, the reads queue behind the batches they
 * were meant to overlap, and the lanes behind each other.
 */
export function importConnections(lanes = IMPORT_LANES): number {
  return lanes + 2;
}

/**
 * Runs (or resumes) one import to the end, once no other import of the workspace runs (the second
 * waits). Rows already counted by an earlier run of the same import are skipped: each batch committed
 * its rows, ledger, rollups and progress together, so resuming ends exactly where a clean run would.
 */
export async function runImport(args: RunImportArgs): Promise<ConversionImport> {
  const ws = args.workspace.workspaceId;
  const lock = await lockWorkspaceImports(args.client, {
    workspaceId: ws,
    ...(args.onWait ? { onWait: args.onWait } : {}),
  });
  try {
    return await runLocked(args);
  } finally {
    await lock.release();
  }
}

async function runLocked(args: RunImportArgs): Promise<ConversionImport> {
  const { client, workspace, importId } = args;
  const ws = workspace.workspaceId;
  const now = args.now ?? Date.now;
  const batchSize = args.batchSize ?? IMPORT_BATCH_ROWS;
  const record = await withWorkspace(client.db, ws, (tx) =>
    findConversionImport(tx, { workspaceId: ws, id: importId }),
  );
  if (!record) throw new Error(`conversion import ${importId} not found in this workspace`);
  if (record.status === "done") return record;
  // Batches settle their own rollups; an import begun before they did is rebuilt at the end.
  const batchRollups = record.rowsDone === 0 || record.options.batchRollups === true;
  await withWorkspace(client.db, ws, (tx) =>
    updateConversionImport(
      tx,
      { workspaceId: ws, id: importId },
      {
        status: "running",
        error: null,
        startedAt: record.startedAt ?? new Date(now()),
        ...(batchRollups && record.options.batchRollups !== true
          ? { options: { ...record.options, batchRollups: true } }
          : {}),
      },
    ),
  );
  const engine = new ImportEngine({
    client,
    workspace,
    mapping: record.mapping,
    options: record.options,
    now,
  });
  const counts: ImportCounts = {
    created: record.created,
    updated: record.updated,
    deleted: record.deleted,
    unchanged: record.unchanged,
    refused: record.refused,
  };
  const lanes = Math.max(1, args.lanes ?? IMPORT_LANES);
  // Batches a crashed run committed within the step it did not finish: their rows are skipped, and
  // their counts are the import's already (the step's end moves them to its row).
  const left = await withWorkspace(client.db, ws, (tx) =>
    findImportBatches(tx, { workspaceId: ws, importId }),
  );
  for (const k of Object.keys(counts) as Array<keyof ImportCounts>) counts[k] += left.counts[k];
  let seen = 0;
  let batchNo = 0;
  let batch: ImportRow[] = [];
  let positions: number[] = [];
  // Two steps at once: the next one is read, resolved and checked while the previous commits, so the
  // parser and the database work side by side. Steps commit one at a time, in file order; within a
  // step, the lanes commit side by side.
  let committing: { prepared: PreparedBatch; done: Promise<void>; error: unknown } | null = null;
  const settle = async () => {
    if (committing === null) return;
    await committing.done;
    if (committing.error !== undefined) throw committing.error;
  };
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch;
    const at = positions;
    const rowsDone = seen;
    batch = [];
    positions = [];
    const previous = committing?.prepared;
    const prepared = await engine.prepare(rows, importId, previous);
    await settle();
    const entry: { prepared: PreparedBatch; done: Promise<void>; error: unknown } = {
      prepared,
      done: Promise.resolve(),
      error: undefined,
    };
    entry.done = engine
      .commitStep(importId, prepared, at, lanes, previous, () => args.beforeLaneCommit?.(batchNo + 1))
      .then(async ({ counts: c }) => {
        await withWorkspace(client.db, ws, (tx) =>
          endImportStep(tx, { workspaceId: ws, importId, rowsDone }),
        );
        for (const k of Object.keys(counts) as Array<keyof ImportCounts>) counts[k] += c[k];
        batchNo++;
        args.onProgress?.({ rowsDone, counts: { ...counts } });
        await args.afterBatch?.(batchNo);
      })
      .catch((error: unknown) => {
        entry.error = error ?? new Error("import batch failed");
      });
    committing = entry;
  };
  try {
    for await (const row of args.source.rows) {
      seen++;
      if (seen <= record.rowsDone || left.positions.has(seen)) continue;
      batch.push(row);
      positions.push(seen);
      if (batch.length >= batchSize) await flush();
    }
    await flush();
    await settle();
    if (left.positions.size > 0)
      // The last rows may all have been in the crashed run's batches: their step still has to end.
      await withWorkspace(client.db, ws, (tx) =>
        endImportStep(tx, { workspaceId: ws, importId, rowsDone: seen }),
      );
    args.onRowsApplied?.();
    const done = await withWorkspace(client.db, ws, (tx) =>
      findConversionImport(tx, { workspaceId: ws, id: importId }),
    );
    if (!batchRollups && done?.minHitAt) {
      // Begun before batches settled their rollups: the visits it converted and every visit they
      // credit lie in this range, so rebuilding it from raw rows (after settling its conversions'
      // rollup ledger in one statement) makes the reports exact.
      const hour = 3_600_000;
      const range = {
        workspaceId: ws,
        from: new Date(Math.floor(done.minHitAt.getTime() / hour) * hour),
        to: new Date(Math.ceil((now() + 1) / hour) * hour),
      };
      await settleConversionRollupLedger(client.db, range);
      await recomputeConversionRollups(client.db, range);
    }
    const finished = await withWorkspace(client.db, ws, (tx) =>
      updateConversionImport(
        tx,
        { workspaceId: ws, id: importId },
        { status: "done", finishedAt: new Date(now()) },
      ),
    );
    return finished as ConversionImport;
  } catch (error) {
    // A batch still committing ends first, so the failure is recorded after its progress.
    await (committing as { done: Promise<void> } | null)?.done;
    const message = (error as Error).message ?? String(error);
    await withWorkspace(client.db, ws, (tx) =>
      updateConversionImport(
        tx,
        { workspaceId: ws, id: importId },
        { status: "failed", error: message.slice(0, 500) },
      ),
    ).catch(() => undefined);
    throw error;
  }
}

/**
 * Runs an import from its stored file (an upload or posted JSON rows): what the worker's `import.run`
 * job does. Streams the file back piece by piece, so memory stays flat whatever its size.
 */
export async function runStoredImport(
  args: Omit<RunImportArgs, "source" | "workspace"> & { workspaceId: string },
): Promise<ConversionImport> {
  const ws = args.workspaceId;
  const [workspace, record] = await withWorkspace(args.client.db, ws, async (tx) => [
    await findWorkspaceById(tx, { workspaceId: ws }),
    await findConversionImport(tx, { workspaceId: ws, id: args.importId }),
  ]);
  if (!workspace || !record)
    throw new Error(`conversion import ${args.importId} not found in this workspace`);
  const bytes = readImportChunks(args.client.db, { workspaceId: ws, importId: args.importId });
  const source =
    record.format === "json" ? jsonSource(ndjsonObjects(bytes)) : csvSource(Readable.from(bytes));
  return runImport({
    ...args,
    workspace: {
      workspaceId: ws,
      currency: workspace.currency,
      sessionTtlSeconds: workspace.sessionTtlSeconds,
    },
    source,
  });
}
