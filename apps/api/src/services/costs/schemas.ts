import { costAmountProblem, localCostRange, normalizeMoney } from "@hitrail/core";
import type { CostUpdateListRow, CostUpdateRow } from "@hitrail/db";
import { z } from "zod";
import { id, isoTime, isoTimeNullable, page, plainText } from "../../schemas/common.ts";

/** A cost: 0 up to core's MAX_COST, exact. */
export const costAmount = z
  .union([z.string(), z.number()])
  .transform((v) => String(v).trim())
  .superRefine((v, ctx) => {
    const problem = costAmountProblem(v);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem.replace(/^'[^']*' /, "") });
  })
  .transform((v) => normalizeMoney(v));

export const fieldName = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, { message: "must be 1-64 letters, digits, '_', '-' or '.' (e.g. zone)" });

export const costScope = z.object({
  trafficSourceId: id.optional(),
  funnelId: id.optional(),
  /** A tracking field's value: `{ name: "zone", value: "12345" }` (`campaign`: the campaign parameter). */
  field: z
    .object({
      name: fieldName,
      value: plainText(256).refine((v) => v.length > 0, { message: "must not be empty" }),
    })
    .optional(),
});

const MAX_RANGE_DAYS = 366;

export const setCostInput = costScope
  .extend({
    /** Local date ("2026-05-01") or date-time ("2026-05-01T10:00") in the workspace's zone. */
    from: z.string().trim(),
    /** Local date (inclusive: to the end of that day) or date-time (exclusive). */
    to: z.string().trim(),
    mode: z.enum(["total", "per_visit"]).default("total"),
    /** The total for the range, or the price of one visit (`mode: "per_visit"`). */
    amount: costAmount,
  })
  .superRefine((v, ctx) => {
    if (!v.trafficSourceId && !v.funnelId && !v.field) {
      ctx.addIssue({
        code: "custom",
        path: ["trafficSourceId"],
        message: "name what the cost is for: a traffic source, a funnel or a tracking-field value",
      });
    }
    const range = localCostRange(v.from, v.to);
    if (!range.ok) {
      ctx.addIssue({ code: "custom", path: [range.field], message: range.reason });
      return;
    }
    const days = (Date.parse(`${range.range.end}Z`) - Date.parse(`${range.range.start}Z`)) / 86_400_000;
    if (days > MAX_RANGE_DAYS) {
      ctx.addIssue({
        code: "custom",
        path: ["to"],
        message: `a cost update covers at most ${MAX_RANGE_DAYS} days`,
      });
    }
  })
  .transform((v) => {
    const range = localCostRange(v.from, v.to);
    if (!range.ok) throw new Error("unreachable: refined above");
    return { ...v, localStart: range.range.start, localEnd: range.range.end };
  });

/** CSV text in one upload: inside the API's 1 MiB request body, about 20,000 lines. */
export const MAX_CSV_CHARS = 900_000;

export const uploadCostsInput = z.object({
  fileName: plainText(200).default("costs.csv"),
  csv: z.string().max(MAX_CSV_CHARS, { message: `must be at most ${MAX_CSV_CHARS} characters` }),
});

export const listCostsInput = z.object({ ...page });

export const costUpdateOutput = z.object({
  id: z.string(),
  trafficSourceId: z.string().nullable(),
  trafficSourceName: z.string().nullable(),
  funnelId: z.string().nullable(),
  funnelName: z.string().nullable(),
  fieldName: z.string().nullable(),
  fieldValue: z.string().nullable(),
  /** Local range in `timeZone`, [from, to). */
  from: z.string(),
  to: z.string(),
  timeZone: z.string(),
  startsAt: isoTime,
  endsAt: isoTime,
  mode: z.enum(["total", "per_visit"]),
  amount: z.string(),
  /** Visits the cost was spread over, what they got in all, and what they cost before. */
  visits: z.number().int(),
  allocated: z.string(),
  replacedCost: z.string(),
  origin: z.enum(["api", "csv", "cli"]),
  fileName: z.string().nullable(),
  fileLine: z.number().int().nullable(),
  createdBy: z.string().nullable(),
  createdAt: isoTime,
  undoneAt: isoTimeNullable,
  undoneBy: z.string().nullable(),
  /** live; replaced (a later update of the same scope covers its whole range) or in part; undone. */
  status: z.enum(["live", "replaced", "partly_replaced", "undone"]),
  replacedBy: z.array(z.string()),
});
export type CostUpdateOutput = z.input<typeof costUpdateOutput>;

export interface Names {
  actors: Map<string, string>;
  objects: Map<string, string>;
}

export function toCostUpdateOutput(
  row: CostUpdateRow & { replacedBy?: CostUpdateListRow["replacedBy"] },
  names: Names,
): CostUpdateOutput {
  const actor = (userId: string | null, keyId: string | null) => {
    const idOf = userId ?? keyId;
    return idOf === null ? null : (names.actors.get(idOf) ?? idOf);
  };
  const replacedBy = row.replacedBy ?? [];
  return {
    id: row.id,
    trafficSourceId: row.trafficSourceId,
    trafficSourceName: row.trafficSourceId ? (names.objects.get(row.trafficSourceId) ?? null) : null,
    funnelId: row.funnelId,
    funnelName: row.funnelId ? (names.objects.get(row.funnelId) ?? null) : null,
    fieldName: row.fieldName,
    fieldValue: row.fieldValue,
    from: row.localStart,
    to: row.localEnd,
    timeZone: row.timeZone,
    startsAt: row.startsAt,
    endsAt: row.endsAt,
    mode: row.mode,
    amount: normalizeMoney(row.amount),
    visits: row.visits,
    allocated: normalizeMoney(row.allocated),
    replacedCost: normalizeMoney(row.replacedCost),
    origin: row.origin,
    fileName: row.fileName,
    fileLine: row.fileLine,
    createdBy: actor(row.createdByUserId, row.createdByApiKeyId),
    createdAt: row.createdAt,
    undoneAt: row.undoneAt,
    undoneBy: actor(row.undoneByUserId, row.undoneByApiKeyId),
    status: row.undoneAt
      ? "undone"
      : replacedBy.some((r) => r.whole)
        ? "replaced"
        : replacedBy.length > 0
          ? "partly_replaced"
          : "live",
    replacedBy: replacedBy.map((r) => r.id),
  };
}

export { id };
