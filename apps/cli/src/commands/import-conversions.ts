import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { Transform } from "node:stream";
import { csvSource, guessMapping, type ImportCounts, mappingProblem, runImport } from "@hitrail/conversions";
import {
  type ConversionImport,
  type DbClient,
  findImportMapping,
  findUnfinishedImportOfFile,
  type ImportMapping,
  insertConversionImport,
  newId,
  saveImportMapping,
  type WorkspaceRow,
  withWorkspace,
} from "@hitrail/db";

export interface ImportCommandInput {
  workspace: WorkspaceRow;
  file: string;
  /** `hit=click,rev=payout`: overrides the remembered (or guessed) mapping. */
  map?: string;
  postbacks: boolean;
  batchSize?: number;
  /** Batches committing side by side; the caller's pool needs importConnections(lanes). */
  lanes?: number;
  /** Where progress goes (stderr); null: silent. */
  progress: NodeJS.WritableStream | null;
}

export function parseMapOption(text: string): ImportMapping {
  const mapping: Record<string, string> = {};
  for (const pair of text.split(",")) {
    const [key, column] = pair.split("=").map((s) => s.trim());
    if (!key || !column) throw new Error(`--map: '${pair}' is not field=column`);
    mapping[key] = column;
  }
  return mapping as ImportMapping;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function headersOf(file: string): Promise<string[]> {
  const source = csvSource(createReadStream(file, { end: 65_535 }));
  for await (const _ of source.rows) break;
  return source.headers() ?? [];
}

/**
 * `hitrail conversions import FILE --workspace SLUG`: streams the file through the import engine in
 * this process, with progress on stderr. Run again after a crash (or Ctrl-C), it resumes the
 * unfinished import of the same file instead of starting another.
 */
export async function importConversionsFile(
  client: Pick<DbClient, "db" | "sql">,
  input: ImportCommandInput,
): Promise<{ import: ConversionImport; resumed: boolean; seconds: number; rowsSeconds: number }> {
  const ws = input.workspace.id;
  const size = (await stat(input.file)).size;
  const fileSha256 = await sha256(input.file);
  const headers = await headersOf(input.file);
  const remembered = await withWorkspace(client.db, ws, (tx) => findImportMapping(tx, { workspaceId: ws }));
  const mapping =
    input.map !== undefined
      ? parseMapOption(input.map)
      : remembered !== null && mappingProblem(remembered, headers) === null
        ? remembered
        : guessMapping(headers);
  const problem = mappingProblem(mapping, headers);
  if (problem !== null) throw new Error(`mapping: ${problem} (use --map field=column,…)`);

  let resumed = true;
  let record = await withWorkspace(client.db, ws, (tx) =>
    findUnfinishedImportOfFile(tx, { workspaceId: ws, fileSha256 }),
  );
  if (record === undefined) {
    resumed = false;
    record = await withWorkspace(client.db, ws, async (tx) => {
      await saveImportMapping(tx, { workspaceId: ws, mapping });
      return insertConversionImport(tx, {
        id: newId(),
        workspaceId: ws,
        fileName: basename(input.file),
        format: "csv",
        fileSha256,
        fileBytes: size,
        mapping,
        options: { postbacks: input.postbacks },
        status: "queued",
        actorLabel: "cli",
      });
    });
  }

  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const started = Date.now();
  let rowsSeconds = 0;
  let shown = 0;
  const show = (rows: number, counts: ImportCounts, final = false) => {
    if (input.progress === null) return;
    const now = Date.now();
    if (!final && now - shown < 250) return;
    shown = now;
    const pct = size === 0 ? 100 : Math.min(100, Math.round((bytes / size) * 100));
    const rate = Math.round(rows / Math.max(0.001, (now - started) / 1000));
    input.progress.write(
      `\r${pct}% ${rows} rows (${rate}/s): ${counts.created} created, ${counts.updated} updated, ` +
        `${counts.deleted} deleted, ${counts.unchanged} unchanged, ${counts.refused} refused${final ? "\n" : ""}`,
    );
  };
  const done = await runImport({
    client,
    workspace: {
      workspaceId: ws,
      currency: input.workspace.currency,
      sessionTtlSeconds: input.workspace.sessionTtlSeconds,
    },
    importId: record.id,
    source: csvSource(createReadStream(input.file).pipe(counter)),
    ...(input.batchSize ? { batchSize: input.batchSize } : {}),
    ...(input.lanes ? { lanes: input.lanes } : {}),
    onProgress: ({ rowsDone, counts }) => show(rowsDone, counts),
    onRowsApplied: () => {
      rowsSeconds = (Date.now() - started) / 1000;
    },
    onWait: () =>
      input.progress?.write("another import of this workspace is running: waiting for it to end…\n"),
  });
  show(done.rowsDone, done, true);
  return { import: done, resumed, seconds: (Date.now() - started) / 1000, rowsSeconds };
}
