import { DELIVERY_STATUSES } from "@hitrail/db";
import { z } from "zod";
import { isoTime, isoTimeNullable } from "../../schemas/common.ts";

/** From the schema's enum, so a new status (paused) reaches the api and the web app by itself. */
export const deliveryStatus = z.enum(DELIVERY_STATUSES);

export const attemptOutput = z.object({
  id: z.string(),
  attempt: z.number().int(),
  url: z.string(),
  statusCode: z.number().int().nullable(),
  latencyMs: z.number().int().nullable(),
  error: z.string().nullable(),
  createdAt: isoTime,
});

export const deliveryOutput = z.object({
  id: z.string(),
  conversionId: z.string(),
  revision: z.number().int(),
  trafficSourceId: z.string(),
  event: z.string(),
  url: z.string(),
  status: deliveryStatus,
  attempts: z.number().int(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  unknownMacros: z.array(z.string()),
  notBefore: isoTimeNullable,
  deliveredAt: isoTimeNullable,
  createdAt: isoTime,
  updatedAt: isoTime,
});
