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
  /**
   * The redirect appends the visitor ID (the workspace's parameter, `vid` by default) to this
   * offer's URL; off for networks that refuse unknown parameters.
   */
  passVisitorId: z.boolean(),
};

const base = z.object(fields);

export const createOfferInput = base.extend({
  offerSourceId: fields.offerSourceId.default(null),
  defaultPayout: fields.defaultPayout.default("0"),
  currency: fields.currency.default(null),
  passVisitorId: fields.passVisitorId.default(true),
});

export const updateOfferInput = base.partial().extend({ offerId: id });

export const offerOutput = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  offerSourceId: z.string().nullable(),
  defaultPayout: z.string(),
  currency: z.string().nullable(),
  passVisitorId: z.boolean(),
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
  passVisitorId: row.passVisitorId,
  archivedAt: row.archivedAt,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});
