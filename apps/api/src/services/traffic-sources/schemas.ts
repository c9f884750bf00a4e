import { RESERVED_TOKENS } from "@hitrail/core";
import type { TrafficSourceRow } from "@hitrail/db";
import { z } from "zod";
import {
  id,
  isoTime,
  isoTimeNullable,
  name,
  paramName,
  tokenName,
  urlTemplate,
} from "../../schemas/common.ts";

export { RESERVED_TOKENS };

/** The entrance link's own parameter (`?ts=<traffic source id>`); a source's data cannot use it. */
export const ENTRANCE_SOURCE_PARAM = "ts";

export const MAX_TRACKING_FIELDS = 20;

// The schema types tracking fields as {name, param}; `macro` (the source's own macro for the field,
// used to build entrance links) rides along in the same jsonb, which the tracker ignores.
export const trackingField = z.object({
  name: tokenName.refine((v) => !(RESERVED_TOKENS as readonly string[]).includes(v.toLowerCase()), {
    message: `must not be one of the built-in tokens (${RESERVED_TOKENS.join(", ")})`,
  }),
  param: paramName,
  macro: z.string().trim().max(200).optional(),
});
export type TrackingFieldInput = z.infer<typeof trackingField>;

/**
 * The network's own macro for an entrance-link parameter (`{conversions_tracking}`, `${SUBID}`): never
 * checked against our macros, it is the network's to fill. Null: unknown (the link shows REPLACE);
 * empty: the parameter stays off the link (the network appends it itself, or has no such macro).
 */
const networkMacro = z
  .string()
  .trim()
  .max(200, { message: "must be at most 200 characters" })
  .refine((v) => !/[\s&#]/.test(v), { message: "must not contain spaces, '&' or '#'" })
  .nullable();

const fields = {
  name,
  postbackUrl: urlTemplate.nullable(),
  postbackOnUpdate: z.boolean(),
  postbackOnReject: z.boolean(),
  postbackDelaySeconds: z
    .number()
    .int()
    .min(0, { message: "must not be negative" })
    .max(7 * 86_400, { message: "must be at most 7 days (604800)" }),
  externalParam: paramName,
  campaignParam: paramName,
  costParam: paramName,
  externalMacro: networkMacro,
  campaignMacro: networkMacro,
  costMacro: networkMacro,
  trackingFields: z
    .array(trackingField)
    .max(MAX_TRACKING_FIELDS, { message: `must list at most ${MAX_TRACKING_FIELDS} fields` }),
};

const base = z.object(fields);

export const createTrafficSourceInput = base.extend({
  postbackUrl: fields.postbackUrl.default(null),
  postbackOnUpdate: fields.postbackOnUpdate.default(false),
  postbackOnReject: fields.postbackOnReject.default(false),
  postbackDelaySeconds: fields.postbackDelaySeconds.default(0),
  externalParam: fields.externalParam.default("external"),
  campaignParam: fields.campaignParam.default("campaign"),
  costParam: fields.costParam.default("cost"),
  externalMacro: fields.externalMacro.default(null),
  campaignMacro: fields.campaignMacro.default(null),
  costMacro: fields.costMacro.default(null),
  trackingFields: fields.trackingFields.default([]),
});

export const updateTrafficSourceInput = base.partial().extend({ trafficSourceId: id });

export type TrafficSourceSettings = Pick<
  z.output<typeof createTrafficSourceInput>,
  "externalParam" | "campaignParam" | "costParam" | "trackingFields"
>;

/** Problems no single field shows: parameters and field names that collide. Empty when sound. */
export function trafficSourceProblems(s: TrafficSourceSettings): string[] {
  const problems: string[] = [];
  const params = new Map<string, string>();
  const claim = (param: string, where: string) => {
    const key = param.toLowerCase();
    if (key === ENTRANCE_SOURCE_PARAM) {
      problems.push(`${where}: '${param}' is the entrance link's own parameter`);
      return;
    }
    const earlier = params.get(key);
    if (earlier) problems.push(`${where}: parameter '${param}' is already used by ${earlier}`);
    else params.set(key, where);
  };
  claim(s.externalParam, "externalParam");
  claim(s.campaignParam, "campaignParam");
  claim(s.costParam, "costParam");
  const names = new Map<string, number>();
  s.trackingFields.forEach((f, i) => {
    claim(f.param, `trackingFields[${i}].param`);
    const earlier = names.get(f.name.toLowerCase());
    if (earlier !== undefined) {
      problems.push(
        `trackingFields[${i}].name: '${f.name}' is already the name of trackingFields[${earlier}]`,
      );
    } else names.set(f.name.toLowerCase(), i);
  });
  return problems;
}

export const trafficSourceOutput = z.object({
  id: z.string(),
  name: z.string(),
  postbackUrl: z.string().nullable(),
  postbackOnUpdate: z.boolean(),
  postbackOnReject: z.boolean(),
  postbackDelaySeconds: z.number().int(),
  externalParam: z.string(),
  campaignParam: z.string(),
  costParam: z.string(),
  externalMacro: z.string().nullable(),
  campaignMacro: z.string().nullable(),
  costMacro: z.string().nullable(),
  trackingFields: z.array(z.object({ name: z.string(), param: z.string(), macro: z.string().optional() })),
  /** The postback endpoint's health: failing since when, disabled (deliveries paused) and why, a flag. */
  postbackFailingSince: isoTimeNullable,
  postbackDisabledAt: isoTimeNullable,
  postbackDisabledReason: z.string().nullable(),
  postbackFlag: z.string().nullable(),
  archivedAt: isoTimeNullable,
  createdAt: isoTime,
  updatedAt: isoTime,
});

export const toTrafficSourceOutput = (row: TrafficSourceRow): z.input<typeof trafficSourceOutput> => ({
  id: row.id,
  name: row.name,
  postbackUrl: row.postbackUrl,
  postbackOnUpdate: row.postbackOnUpdate,
  postbackOnReject: row.postbackOnReject,
  postbackDelaySeconds: row.postbackDelaySeconds,
  externalParam: row.externalParam,
  campaignParam: row.campaignParam,
  costParam: row.costParam,
  externalMacro: row.externalMacro,
  campaignMacro: row.campaignMacro,
  costMacro: row.costMacro,
  trackingFields: row.trackingFields as TrackingFieldInput[],
  postbackFailingSince: row.postbackFailingSince,
  postbackDisabledAt: row.postbackDisabledAt,
  postbackDisabledReason: row.postbackDisabledReason,
  postbackFlag: row.postbackFlag,
  archivedAt: row.archivedAt,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});
