import { insertImportChunk } from "@hitrail/db";
import { z } from "zod";
import { conflict } from "../../errors.ts";
import { id } from "../../schemas/common.ts";
import { inWorkspace, workspaceService } from "../context.ts";
import { requireImport } from "./shared.ts";

/** One piece of the file, in order (`seq` from 0); a piece sent again is stored once. */
export const uploadImportChunk = workspaceService({
  role: "member",
  input: z.object({
    importId: id,
    seq: z.number().int().min(0).max(1_000_000),
    data: z
      .string()
      .min(1)
      .max(400_000, { message: "send the file in pieces of at most 400,000 characters" }),
  }),
  output: z.object({ fileBytes: z.number() }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const row = await requireImport(tx, ctx, input.importId);
      if (row.status !== "uploading")
        throw conflict(`importId: this import is ${row.status}; its file can no longer change`);
      const data = Buffer.from(input.data, "utf8");
      await insertImportChunk(tx, {
        workspaceId: ctx.workspace.id,
        importId: input.importId,
        seq: input.seq,
        data,
      });
      return { fileBytes: row.fileBytes + data.length };
    }),
});
