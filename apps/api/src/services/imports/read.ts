import { IMPORT_FIELD_KEYS } from "@hitrail/conversions";
import { csvCell } from "@hitrail/core";
import { findImportMapping, listConversionImports, listImportRefusals } from "@hitrail/db";
import { z } from "zod";
import { inWorkspace, workspaceService } from "../context.ts";
import { importIdInput, importMapping, importOutput, toImportOutput } from "./schemas.ts";
import { requireImport } from "./shared.ts";

/** One import with its progress and counts: what the dashboard and the CLI poll. */
export const getImport = workspaceService({
  role: "viewer",
  input: importIdInput,
  output: importOutput,
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => toImportOutput(await requireImport(tx, ctx, input.importId))),
});

/** Every import of the workspace, newest first. */
export const listImports = workspaceService({
  role: "viewer",
  input: z.object({ limit: z.number().int().min(1).max(200).default(50) }),
  output: z.object({ items: z.array(importOutput) }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => ({
      items: (await listConversionImports(tx, { workspaceId: ctx.workspace.id, limit: input.limit })).map(
        toImportOutput,
      ),
    })),
});

/** The refused rows as CSV: line, reason, then the row's own columns, ready to fix and import again. */
export const importRefusalsCsv = workspaceService({
  role: "viewer",
  input: importIdInput,
  output: z.object({ fileName: z.string(), csv: z.string(), rows: z.number().int() }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const row = await requireImport(tx, ctx, input.importId);
      const refusals = await listImportRefusals(tx, { workspaceId: ctx.workspace.id, importId: row.id });
      // The file's own order is not kept (jsonb sorts keys): mapped columns first, in the fields' order.
      const columns: string[] = IMPORT_FIELD_KEYS.map((k) => row.mapping[k]).filter(
        (c): c is string => c !== undefined,
      );
      for (const r of refusals) for (const k of Object.keys(r.raw)) if (!columns.includes(k)) columns.push(k);
      const lines = [["line", "reason", ...columns].map(csvCell).join(",")];
      for (const r of refusals)
        lines.push([String(r.line), r.reason, ...columns.map((c) => r.raw[c] ?? "")].map(csvCell).join(","));
      return {
        fileName: `${row.fileName.replace(/\.[^.]*$/, "")}-refused.csv`,
        csv: `${lines.join("\n")}\n`,
        rows: refusals.length,
      };
    }),
});

/** The workspace's remembered column mapping. */
export const getImportMapping = workspaceService({
  role: "viewer",
  input: z.object({}),
  output: z.object({ mapping: importMapping.nullable() }),
  run: ({ ctx }) =>
    inWorkspace(ctx, async (tx) => ({
      mapping: await findImportMapping(tx, { workspaceId: ctx.workspace.id }),
    })),
});
