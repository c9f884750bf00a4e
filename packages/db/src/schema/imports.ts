import { sql } from "drizzle-orm";
import {
  bigint,
  customType,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";
import { eventWorkspaceRef, users, workspaceRef } from "./accounts.ts";
import { id, timestamps } from "./columns.ts";

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => "bytea" });

export const importStatus = pgEnum("conversion_import_status", [
  "uploading",
  "queued",
  "running",
  "done",
  "failed",
]);
export const importFormat = pgEnum("conversion_import_format", ["csv", "json"]);

/**
 * Which column of a feed provider's file holds what. Keys are Hitrail's postback parameter names
 * (hit, external, vid, p, tx, rev, status, ts, e), values the file's header names.
 */
export type ImportMapping = Partial<
  Record<"hit" | "external" | "vid" | "p" | "tx" | "rev" | "status" | "ts" | "e", string>
>;

export interface ImportOptions {
  /** Fire traffic-source postbacks for imported conversions (off by default: search arbitrage sends its own). */
  postbacks: boolean;
  /**
   * Set when the import starts: each batch settles its conversions' rollups in its own commit. An
   * import begun before that (resumed now) has its range's rollups rebuilt at the end instead.
   */
  batchRollups?: boolean;
}

/**
 * One conversion import (a CSV file or JSON rows), kept for ever: who ran it, its counts, and where
 * it got to. `nextLine` and the counts advance in the same transaction as the conversions of each
 * batch, so an import resumed after a crash continues exactly where the last commit left it.
 */
export const conversionImports = pgTable(
  "conversion_imports",
  {
    id: id(),
    workspaceId: workspaceRef(),
    fileName: text("file_name").notNull(),
    format: importFormat("format").notNull(),
    /** sha256 of the whole file once uploaded: the CLI resumes an unfinished import of the same file. */
    fileSha256: text("file_sha256"),
    fileBytes: bigint("file_bytes", { mode: "number" }).notNull().default(0),
    mapping: jsonb("mapping").$type<ImportMapping>().notNull(),
    options: jsonb("options").$type<ImportOptions>().notNull(),
    status: importStatus("status").notNull().default("uploading"),
    actorUserId: uuid("actor_user_id").references(() => users.id, { onDelete: "set null" }),
    actorApiKeyId: uuid("actor_api_key_id"),
    /** "user@example.com", "api key 'feeds'", "cli": who ran it, in words that survive the actor's removal. */
    actorLabel: text("actor_label").notNull(),
    /** Data rows read so far (the header is not a row); the next run starts after this one. */
    rowsDone: integer("rows_done").notNull().default(0),
    created: integer("created").notNull().default(0),
    updated: integer("updated").notNull().default(0),
    deleted: integer("deleted").notNull().default(0),
    unchanged: integer("unchanged").notNull().default(0),
    refused: integer("refused").notNull().default(0),
    /** Earliest visit a row of this import converted: the start of the rollup range rebuilt at the end. */
    minHitAt: timestamp("min_hit_at", { withTimezone: true, mode: "date" }),
    error: text("error"),
    startedAt: timestamp("started_at", { withTimezone: true, mode: "date" }),
    finishedAt: timestamp("finished_at", { withTimezone: true, mode: "date" }),
    ...timestamps,
  },
  (t) => [index("conversion_imports_workspace_idx").on(t.workspaceId, t.createdAt)],
);

/** The uploaded file, in order, 1 MB or so a piece: the worker streams it back from here. */
export const conversionImportChunks = pgTable(
  "conversion_import_chunks",
  {
    workspaceId: workspaceRef(),
    importId: uuid("import_id")
      .notNull()
      .references(() => conversionImports.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    data: bytea("data").notNull(),
  },
  (t) => [primaryKey({ columns: [t.importId, t.seq] })],
);

/** A row the import refused, with its line number and reason: the downloadable list. */
export const conversionImportRefusals = pgTable(
  "conversion_import_refusals",
  {
    workspaceId: workspaceRef(),
    importId: uuid("import_id")
      .notNull()
      .references(() => conversionImports.id, { onDelete: "cascade" }),
    line: integer("line").notNull(),
    reason: text("reason").notNull(),
    /** The row as read, so the list can be fixed and imported again. */
    raw: jsonb("raw").$type<Record<string, string>>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.importId, t.line] })],
);

/**
 * Every row any import of the workspace applied, by a hash of what it says: the same row again (a
 * second import of the file, or a repeated line) is "unchanged" and never reaches the conversion
 * rules a second time — under the "add" duplicate policy it would otherwise add its revenue twice.
 * One row per imported row, so no foreign key on the workspace (eventWorkspaceRef): its check ran
 * once per row, 11-26 ms of a 2,000-row batch's write, each taking a KEY SHARE lock on the one
 * workspace row both lanes' batches lock.
 */
export const conversionImportLedger = pgTable(
  "conversion_import_ledger",
  {
    workspaceId: eventWorkspaceRef(),
    rowHash: bytea("row_hash").notNull(),
    importId: uuid("import_id").notNull(),
    line: integer("line").notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.rowHash] })],
);

/**
 * A batch an import committed within a step it has not finished. A step's rows are split into lanes
 * by converting hit and the lanes commit side by side, each in its own transaction; the step's counts
 * reach the import (and `rowsDone` moves past it) once every lane has committed. A run resumed after
 * a crash skips the rows these batches hold, so each row is applied and counted exactly once.
 */
export const conversionImportBatches = pgTable(
  "conversion_import_batches",
  {
    workspaceId: workspaceRef(),
    importId: uuid("import_id")
      .notNull()
      .references(() => conversionImports.id, { onDelete: "cascade" }),
    /** The first of `positions`: a batch never holds a row another holds, so this names it. */
    firstPosition: integer("first_position").notNull(),
    /** The data rows (1 is the first row after the header) this batch applied, left unchanged or refused. */
    positions: integer("positions").array().notNull(),
    created: integer("created").notNull(),
    updated: integer("updated").notNull(),
    deleted: integer("deleted").notNull(),
    unchanged: integer("unchanged").notNull(),
    refused: integer("refused").notNull(),
    minHitAt: timestamp("min_hit_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [primaryKey({ columns: [t.importId, t.firstPosition] })],
);

/** The column mapping last used in the workspace: feed providers' files differ, and repeat. */
export const conversionImportMappings = pgTable("conversion_import_mappings", {
  workspaceId: workspaceRef().primaryKey(),
  mapping: jsonb("mapping").$type<ImportMapping>().notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" })
    .notNull()
    .defaultNow()
    .$onUpdate(() => sql`now()`),
});
