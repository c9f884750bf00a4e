import {
  conversionRevenueProblem,
  isMoney,
  isValidTimeZone,
  normalizeMoney,
  urlTemplateProblem,
} from "@hitrail/core";
import { z } from "zod";

// Building blocks of the API's input and output schemas. Messages name what is wrong in words a
// user can act on; the adapter prefixes them with the field's path.

/** Any UUID-shaped id; Postgres decides nothing else about it and neither do we. */
export const id = z.guid({ message: "must be an ID (a UUID)" });
export const workspaceId = id;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Text people type on one line: no NUL or other control characters (Postgres refuses NUL anyway). */
export const plainText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, { message: `must be at most ${max} characters` })
    .refine((v) => !CONTROL_CHARS.test(v), { message: "must not contain control characters" });

export const name = plainText(200).refine((v) => v.length > 0, { message: "must not be empty" });

/** A query-string parameter name as networks use them: `clickid`, `sub_id`, `s2`, `aff_sub[1]`. */
export const paramName = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.\-[\]]{1,64}$/, {
    message: "must be 1-64 letters, digits, '_', '-', '.', '[' or ']'",
  });

/** A token name as `{name}` in URLs (the characters core's substitution recognises). */
export const tokenName = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, { message: "must be 1-64 letters, digits, '_', '-' or '.'" });

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const UNSAFE_URL_CHARS = /[\u0000-\u0020\u007f]/;

/**
 * An http(s) URL that may hold `{tokens}` anywhere after the host — never in the scheme or the host,
 * where a click's value would choose the destination (core's urlTemplateProblem). Checked with the
 * tokens filled in, since `{hit}` itself is not valid in a URL.
 */
export const urlTemplate = z
  .string()
  .trim()
  .max(4096, { message: "must be at most 4096 characters" })
  .superRefine((v, ctx) => {
    const problem = urlTemplateProblem(v);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem, abort: true });
  })
  .refine((v) => !UNSAFE_URL_CHARS.test(v), { message: "must not contain spaces or control characters" })
  .refine((v) => URL.canParse(v.replace(/\{[^{}]*\}/g, "x")), { message: "is not a valid URL" });

/** An amount as a decimal string or number, stored exactly; `allowNegative` for revenue adjustments. */
export const money = (opts: { allowNegative?: boolean } = {}) =>
  z
    .union([z.string(), z.number()])
    .transform((v) => String(v).trim())
    .refine((v) => isMoney(v), { message: "must be an amount such as 12.50" })
    .refine((v) => opts.allowNegative || !v.startsWith("-"), { message: "must not be negative" })
    .transform((v) => normalizeMoney(v));

/**
 * What one conversion may be worth (a default payout, an action trigger's revenue): 0 up to core's
 * MAX_CONVERSION_REVENUE; `allowDelete` also accepts -1, the seed's delete marker.
 */
export const conversionMoney = (opts: { allowDelete?: boolean } = {}) =>
  z
    .union([z.string(), z.number()])
    .transform((v) => String(v).trim())
    .refine((v) => isMoney(v), { message: "must be an amount such as 12.50" })
    .superRefine((v, ctx) => {
      // A payout is never a deletion: only where -1 means one (a trigger's revenue) is it explained.
      if (!opts.allowDelete && v.startsWith("-")) {
        ctx.addIssue({ code: "custom", message: "must not be negative" });
        return;
      }
      const problem = conversionRevenueProblem(v, "amount");
      if (problem !== null)
        ctx.addIssue({ code: "custom", message: problem.replace(/^amount '[^']*' /, "") });
    })
    .transform((v) => normalizeMoney(v));

export const currency = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z]{3}$/, { message: "must be a three-letter ISO 4217 code such as USD" });

export const timeZone = z
  .string()
  .trim()
  .refine((v) => v !== "" && isValidTimeZone(v), {
    message: "must be an IANA time zone such as Europe/Berlin",
  });

/** Keyset paging: newest first, `before` is the id of the last row already shown. */
export const page = {
  limit: z.number().int().min(1).max(500).default(100),
  before: id.optional(),
};

export const listInput = z.object({
  includeArchived: z.boolean().default(false),
  search: z.string().trim().max(200).optional(),
  ...page,
});

/** Dates leave the API as ISO strings: JSON has no date type and the client must not guess. */
export const isoTime = z.date().transform((d) => d.toISOString());
export const isoTimeNullable = isoTime.nullable();

/** An input instant: an ISO 8601 date-time with an offset. */
export const instant = z.iso
  .datetime({ offset: true, message: "must be an ISO 8601 date-time such as 2026-05-17T12:00:00Z" })
  .transform((v) => new Date(v));

export const nextCursor = <T extends { id: string }>(rows: T[], limit: number): string | null =>
  rows.length === limit ? (rows[rows.length - 1]?.id ?? null) : null;
