import { saveImportMapping } from "@hitrail/db";
import { z } from "zod";
import { plainText } from "../../schemas/common.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { importMapping, importOutput, toImportOutput } from "./schemas.ts";
import { createImportRow } from "./shared.ts";

/**
 * Opens a CSV import: the file follows in pieces (imports.upload), then imports.start hands it to the
 * worker. The mapping becomes the workspace's remembered one.
 */
export const createImport = workspaceService({
  role: "member",
  input: z.object({
    fileName: plainText(255).refine((v) => v.length > 0, { message: "must not be empty" }),
    mapping: importMapping,
    postbacks: z.boolean().default(false),
  }),
  output: importOutput,
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const row = await createImportRow(tx, ctx, { ...input, format: "csv" });
      await saveImportMapping(tx, { workspaceId: ctx.workspace.id, mapping: input.mapping });
      await audit(tx, ctx, {
        action: "conversion_import.create",
        entity: "conversion_import",
        entityId: row.id,
        detail: input.fileName,
      });
      return toImportOutput(row);
    }),
});
