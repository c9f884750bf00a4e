import { CONVERSION_EVENT_KEY, MAX_EVENT_ALIAS_LENGTH } from "@hitrail/core";
import type { EventTypeRow } from "@hitrail/db";
import { z } from "zod";
import { conversionMoney, id, isoTime, isoTimeNullable, name } from "../../schemas/common.ts";
import { duplicatePolicy } from "../offer-sources/schemas.ts";

const alias = z
  .string()
  .trim()
  .regex(new RegExp(`^[A-Za-z0-9_.-]{1,${MAX_EVENT_ALIAS_LENGTH}}$`), {
    message: `must be 1-${MAX_EVENT_ALIAS_LENGTH} letters, digits, '_', '-' or '.'`,
  })
  .refine((v) => v.toLowerCase() !== CONVERSION_EVENT_KEY, {
    message: `'${CONVERSION_EVENT_KEY}' is the built-in conversion event`,
  });

const fields = {
  name,
  /** The name used in code: `flux.track("<alias>")` and postback `e=<alias>`. */
  alias,
  hasRevenue: z.boolean(),
  defaultRevenue: conversionMoney(),
  countsAsConversion: z.boolean(),
  firesPostback: z.boolean(),
  duplicatePolicy,
};
const base = z.object(fields);

export const createEventTypeInput = base.extend({
  hasRevenue: fields.hasRevenue.default(false),
  defaultRevenue: fields.defaultRevenue.default("0"),
  countsAsConversion: fields.countsAsConversion.default(false),
  firesPostback: fields.firesPostback.default(false),
  duplicatePolicy: duplicatePolicy.default("update"),
});
export const updateEventTypeInput = base.partial().extend({ eventTypeId: id });

export const eventTypeOutput = z.object({
  id: z.string(),
  name: z.string(),
  alias: z.string(),
  hasRevenue: z.boolean(),
  defaultRevenue: z.string(),
  countsAsConversion: z.boolean(),
  firesPostback: z.boolean(),
  duplicatePolicy,
  archivedAt: isoTimeNullable,
  createdAt: isoTime,
  updatedAt: isoTime,
});

export const toEventTypeOutput = (row: EventTypeRow): z.input<typeof eventTypeOutput> => ({
  id: row.id,
  name: row.name,
  alias: row.alias,
  hasRevenue: row.hasRevenue,
  defaultRevenue: row.defaultRevenue,
  countsAsConversion: row.countsAsConversion,
  firesPostback: row.firesPostback,
  duplicatePolicy: row.duplicatePolicy,
  archivedAt: row.archivedAt,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});
