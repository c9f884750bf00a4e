import { insertImportChunk, updateConversionImport } from "@hitrail/db";
import { z } from "zod";
import { plainText } from "../../schemas/common.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { importMapping, importOutput, importRows, toImportOutput } from "./schemas.ts";
import { createImportRow, enqueueImport } from "./shared.ts";

const IDENTITY = {
  hit: "hit",
  external: "external",
  vid: "vid",
  p: "p",
  tx: "tx",
  rev: "rev",
  status: "status",
  ts: "ts",
  e: "e",
};

/**
 * JSON rows through the API: stored and run by the worker like an uploaded file (poll imports.get).
 * Rows use the postback's parameter names unless a mapping says otherwise.
 */
export const importConversionRows = workspaceService({
  role: "member",
  input: z.object({
    name: plainText(255).default("API rows"),
    rows: importRows,
    mapping: importMapping.optional(),
    postbacks: z.boolean().default(false),
  }),
  output: importOutput,
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const row = await createImportRow(tx, ctx, {
        fileName: input.name,
        format: "json",
        mapping: input.mapping ?? IDENTITY,
        postbacks: input.postbacks,
      });
      const data = Buffer.from(`${input.rows.map((r) => JSON.stringify(r)).join("\n")}\n`, "utf8");
      await insertImportChunk(tx, { workspaceId: ctx.workspace.id, importId: row.id, seq: 0, data });
      const queued = await updateConversionImport(
        tx,
        { workspaceId: ctx.workspace.id, id: row.id },
        { status: "queued", fileBytes: data.length },
      );
      await enqueueImport(tx, ctx, row.id);
      await audit(tx, ctx, {
        action: "conversion_import.rows",
        entity: "conversion_import",
        entityId: row.id,
        detail: `${input.rows.length} rows`,
      });
      return toImportOutput(queued ?? row);
    }),
});
