import { createImport } from "../services/imports/create.ts";
import { previewImport } from "../services/imports/preview.ts";
import { getImport, getImportMapping, importRefusalsCsv, listImports } from "../services/imports/read.ts";
import { importConversionRows } from "../services/imports/rows.ts";
import { startImport } from "../services/imports/start.ts";
import { uploadImportChunk } from "../services/imports/upload.ts";
import { router, serviceMutation, serviceQuery } from "../trpc.ts";

export const importsRouter = router({
  mapping: serviceQuery(getImportMapping),
  preview: serviceMutation(previewImport),
  create: serviceMutation(createImport),
  upload: serviceMutation(uploadImportChunk),
  start: serviceMutation(startImport),
  rows: serviceMutation(importConversionRows),
  get: serviceQuery(getImport),
  list: serviceQuery(listImports),
  refusals: serviceQuery(importRefusalsCsv),
});
