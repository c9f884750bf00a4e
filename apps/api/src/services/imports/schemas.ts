import type { ConversionImport } from "@hitrail/db";
import { z } from "zod";
import { id, isoTime, isoTimeNullable } from "../../schemas/common.ts";

const column = z.string().trim().min(1).max(200);

/** Which column holds what; keys are the postback's parameter names. */
export const importMapping = z
  .object({
    hit: column,
    external: column,
    vid: column,
    p: column,
    tx: column,
    rev: column,
    status: column,
    ts: column,
    e: column,
  })
  .partial()
  .strict();

/** JSON rows: the same names as a postback's parameters (plus `external`), values as text or numbers. */
export const importRows = z
  .array(z.record(z.string().max(200), z.union([z.string().max(1_000), z.number(), z.null()])))
  .min(1, { message: "must hold at least one row" })
  .max(10_000, { message: "at most 10,000 rows per request; upload a CSV file for more" });

export const importIdInput = z.object({ importId: id });

export const importOutput = z.object({
  id: z.string(),
  fileName: z.string(),
  format: z.enum(["csv", "json"]),
  fileBytes: z.number(),
  mapping: z.record(z.string(), z.string()),
  postbacks: z.boolean(),
  status: z.enum(["uploading", "queued", "running", "done", "failed"]),
  ranBy: z.string(),
  rowsDone: z.number().int(),
  created: z.number().int(),
  updated: z.number().int(),
  deleted: z.number().int(),
  unchanged: z.number().int(),
  refused: z.number().int(),
  error: z.string().nullable(),
  createdAt: isoTime,
  startedAt: isoTimeNullable,
  finishedAt: isoTimeNullable,
});

export function toImportOutput(row: ConversionImport): z.input<typeof importOutput> {
  return {
    id: row.id,
    fileName: row.fileName,
    format: row.format,
    fileBytes: row.fileBytes,
    mapping: row.mapping as Record<string, string>,
    postbacks: row.options.postbacks,
    status: row.status,
    ranBy: row.actorLabel,
    rowsDone: row.rowsDone,
    created: row.created,
    updated: row.updated,
    deleted: row.deleted,
    unchanged: row.unchanged,
    refused: row.refused,
    error: row.error,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
  };
}
