import { Readable } from "node:stream";
import {
  csvSource,
  guessMapping,
  ImportEngine,
  jsonSource,
  mappingProblem,
  type RowSource,
} from "@hitrail/conversions";
import { findImportMapping } from "@hitrail/db";
import { z } from "zod";
import { badRequest } from "../../errors.ts";
import { inWorkspace, workspaceService } from "../context.ts";
import { importMapping, importRows } from "./schemas.ts";

const verdict = z.object({
  line: z.number().int(),
  outcome: z.enum(["create", "update", "delete", "unchanged", "refuse"]),
  reason: z.string().nullable(),
  hitId: z.string().nullable(),
  revenue: z.string().nullable(),
  status: z.enum(["approved", "pending", "rejected"]).nullable(),
  values: z.record(z.string(), z.string()),
});

/**
 * What the first rows of a file would do, with nothing written: the dashboard sends the start of the
 * file (or JSON rows) and a mapping, or none to get the workspace's remembered one (else a guess from
 * the header).
 */
export const previewImport = workspaceService({
  role: "member",
  input: z
    .object({
      csv: z.string().max(1_000_000, { message: "send at most the first 1,000,000 characters" }).optional(),
      rows: importRows.optional(),
      mapping: importMapping.optional(),
      limit: z.number().int().min(1).max(200).default(20),
    })
    .refine((v) => (v.csv === undefined) !== (v.rows === undefined), {
      message: "send either csv (the start of the file) or rows",
      path: ["csv"],
    }),
  output: z.object({
    headers: z.array(z.string()),
    mapping: importMapping,
    mappingSource: z.enum(["given", "remembered", "guessed"]),
    problem: z.string().nullable(),
    rows: z.array(verdict),
  }),
  run: async ({ ctx, input }) => {
    const source: RowSource =
      input.csv !== undefined
        ? csvSource(Readable.from([cutAtLastLine(input.csv)]))
        : jsonSource(input.rows ?? []);
    const rows = [];
    try {
      for await (const row of source.rows) {
        rows.push(row);
        if (rows.length >= input.limit) break;
      }
    } catch (error) {
      throw badRequest(`csv: the file cannot be read as CSV (${(error as Error).message})`);
    }
    const headers = source.headers() ?? [];
    const remembered =
      input.mapping === undefined
        ? await inWorkspace(ctx, (tx) => findImportMapping(tx, { workspaceId: ctx.workspace.id }))
        : null;
    const usable = remembered !== null && mappingProblem(remembered, headers) === null ? remembered : null;
    const mapping = input.mapping ?? usable ?? guessMapping(headers);
    const mappingSource: "given" | "remembered" | "guessed" =
      input.mapping !== undefined ? "given" : usable !== null ? "remembered" : "guessed";
    const problem = mappingProblem(mapping, headers);
    if (problem !== null) return { headers, mapping, mappingSource, problem, rows: [] };
    const engine = new ImportEngine({
      client: { db: ctx.db },
      workspace: {
        workspaceId: ctx.workspace.id,
        currency: ctx.workspace.currency,
        sessionTtlSeconds: ctx.workspace.sessionTtlSeconds,
      },
      mapping,
      options: { postbacks: false },
    });
    return { headers, mapping, mappingSource, problem: null, rows: await engine.preview(rows) };
  },
});

/** The start of a file may end mid-row: the preview reads whole lines only. */
function cutAtLastLine(text: string): string {
  if (text.length < 1_000_000) return text;
  const nl = text.lastIndexOf("\n");
  return nl > 0 ? text.slice(0, nl + 1) : text;
}
