import type { LanderRow } from "@hitrail/db";
import { z } from "zod";
import { conversionMoney, id, isoTime, isoTimeNullable, name, urlTemplate } from "../../schemas/common.ts";

const fields = { name, url: urlTemplate, defaultPayout: conversionMoney() };
const base = z.object(fields);

export const createLanderInput = base.extend({ defaultPayout: fields.defaultPayout.default("0") });
export const updateLanderInput = base.partial().extend({ landerId: id });

export const landerOutput = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  defaultPayout: z.string(),
  archivedAt: isoTimeNullable,
  createdAt: isoTime,
  updatedAt: isoTime,
});

export const toLanderOutput = (row: LanderRow): z.input<typeof landerOutput> => ({
  id: row.id,
  name: row.name,
  url: row.url,
  defaultPayout: row.defaultPayout,
  archivedAt: row.archivedAt,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});
