import {
  type ConversionStatus,
  DUPLICATE_POLICIES,
  STATUS_MAP_TEMPLATES,
  type StatusMapTemplateName,
  validateStatusMap,
} from "@hitrail/core";
import type { OfferSourceRow } from "@hitrail/db";
import { z } from "zod";
import { id, isoTime, isoTimeNullable, name, paramName } from "../../schemas/common.ts";

const status = z.enum(["approved", "pending", "rejected"], {
  message: "must be approved, pending or rejected",
});

export const duplicatePolicy = z.enum(DUPLICATE_POLICIES, {
  message: `must be ${DUPLICATE_POLICIES.slice(0, -1).join(", ")} or ${DUPLICATE_POLICIES.at(-1)}`,
});

const statusMapTemplateNames = Object.keys(STATUS_MAP_TEMPLATES) as [
  StatusMapTemplateName,
  ...StatusMapTemplateName[],
];

/**
 * The postback the network calls, as the user pastes it: the network's own macros (#s2#, {sub1},
 * [tid]) make it no valid URL until filled, so only its shape is checked.
 */
const postbackTemplate = z
  .string()
  .trim()
  .max(4096, { message: "must be at most 4096 characters" })
  .refine((v) => /^https?:\/\/\S+$/i.test(v), { message: "must be an http(s) URL without spaces" });

const fields = {
  name,
  clickIdParam: paramName,
  postbackTemplate: postbackTemplate.nullable(),
  statusParam: paramName,
  /** Status words (or codes) the network sends, and what each means; compared case-insensitively. */
  statusMap: z
    .record(z.string().trim().min(1).max(64), status)
    .refine((m) => Object.keys(m).length <= 100, { message: "must map at most 100 words" })
    .nullable(),
  duplicatePolicy,
  /** A parameter of the network's own that carries the conversion time (`ts` always works). */
  conversionTimeParam: paramName.nullable(),
};

const base = z.object(fields);

export const createOfferSourceInput = base.extend({
  clickIdParam: fields.clickIdParam.default("clickid"),
  postbackTemplate: fields.postbackTemplate.default(null),
  statusParam: fields.statusParam.default("status"),
  statusMap: fields.statusMap.optional(),
  /** Starts the status map from one of core's templates (statusMap, when also sent, wins). */
  statusMapTemplate: z.enum(statusMapTemplateNames).optional(),
  duplicatePolicy: duplicatePolicy.default("update"),
  conversionTimeParam: fields.conversionTimeParam.default(null),
});

export const updateOfferSourceInput = base.partial().extend({ offerSourceId: id });

/** A status map with lower-case keys, as the schema stores it, or the problems that stop it. */
export function normalizeStatusMap(
  map: Record<string, ConversionStatus> | null | undefined,
  template: StatusMapTemplateName | undefined,
): { ok: true; map: Record<string, ConversionStatus> | null } | { ok: false; problems: string[] } {
  const words = map ?? (template ? STATUS_MAP_TEMPLATES[template].map.words : null);
  if (!words) return { ok: true, map: null };
  const problems = validateStatusMap({ words, strict: false }).map((p) => `statusMap: ${p}`);
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    map: Object.fromEntries(Object.entries(words).map(([k, v]) => [k.trim().toLowerCase(), v])),
  };
}

export const offerSourceOutput = z.object({
  id: z.string(),
  name: z.string(),
  clickIdParam: z.string(),
  postbackTemplate: z.string().nullable(),
  statusParam: z.string(),
  statusMap: z.record(z.string(), status).nullable(),
  duplicatePolicy,
  conversionTimeParam: z.string().nullable(),
  archivedAt: isoTimeNullable,
  createdAt: isoTime,
  updatedAt: isoTime,
});

export const toOfferSourceOutput = (row: OfferSourceRow): z.input<typeof offerSourceOutput> => ({
  id: row.id,
  name: row.name,
  clickIdParam: row.clickIdParam,
  postbackTemplate: row.postbackTemplate,
  statusParam: row.statusParam,
  statusMap: row.statusMap,
  duplicatePolicy: row.duplicatePolicy,
  conversionTimeParam: row.conversionTimeParam,
  archivedAt: row.archivedAt,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});
