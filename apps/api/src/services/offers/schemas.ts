import type { OfferRow } from "@hitrail/db";
import { z } from "zod";
import {
  conversionMoney,
  currency,
  id,
  isoTime,
  isoTimeNullable,
  name,
  urlTemplate,
} from "../../schemas/common.ts";

const fields = {
  name,
  /** Destination with tokens ({hit}, {vid}, {external}, tracking fields, …). */
  url: urlTemplate,
  offerSourceId: id.nullable(),
  defaultPayout: conversionMoney(),
  currency: currency.nullable(),
};

const base = z.object(fields);

export const createOfferInput = base.extend({
  offerSourceId: fields.offerSourceId.default(null),
  defaultPayout: fields.defaultPayout.default("0"),
  currency: fields.currency.default(null),
});

export const updateOfferInput = base.partial().extend({ offerId: id });

export const offerOutput = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  offerSourceId: z.string().nullable(),
  defaultPayout: z.string(),
  currency: z.string().nullable(),
  archivedAt: isoTimeNullable,
  createdAt: isoTime,
  updatedAt: isoTime,
});

export const toOfferOutput = (row: OfferRow): z.input<typeof offerOutput> => ({
  id: row.id,
  name: row.name,
  url: row.url,
  offerSourceId: row.offerSourceId,
  defaultPayout: row.defaultPayout,
  currency: row.currency,
  archivedAt: row.archivedAt,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});
