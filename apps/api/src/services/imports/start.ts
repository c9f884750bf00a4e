import { updateConversionImport } from "@hitrail/db";
import { conflict } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { importIdInput, importOutput, toImportOutput } from "./schemas.ts";
import { enqueueImport, requireImport } from "./shared.ts";

/**
 * Hands an uploaded file to the worker; poll imports.get for progress. A failed import can be
 * started again: it resumes after its last committed batch.
 */
export const startImport = workspaceService({
  role: "member",
  input: importIdInput,
  output: importOutput,
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const row = await requireImport(tx, ctx, input.importId);
      if (row.status !== "uploading" && row.status !== "failed")
        throw conflict(`importId: this import is already ${row.status}`);
      if (row.fileBytes === 0) throw conflict("importId: no file was uploaded for this import");
      const queued = await updateConversionImport(
        tx,
        { workspaceId: ctx.workspace.id, id: row.id },
        { status: "queued", error: null },
      );
      await enqueueImport(tx, ctx, row.id);
      await audit(tx, ctx, {
        action: "conversion_import.start",
        entity: "conversion_import",
        entityId: row.id,
        detail: row.fileName,
      });
      return toImportOutput(queued ?? row);
    }),
});
