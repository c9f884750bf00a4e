import { normalizeUuid, quoteValue, readIdField } from "@hitrail/core";
import { z } from "zod";
import { badRequest } from "./errors.ts";

const requiredId = (noun: string) =>
  z.string().transform((value, ctx) => {
    const id = normalizeUuid(value);
    if (id === null) {
      ctx.addIssue({ code: "custom", message: `${noun} ${quoteValue(value)} is not a valid ID` });
      return z.NEVER;
    }
    return id;
  });

export const MAX_ACTION_NUMBER = 9_999;

export const entranceParams = z.object({ funnelId: requiredId("funnel ID") });

export const actionParams = z.object({
  n: z
    .string()
    .regex(/^0*[1-9]\d{0,3}$/, {
      error: (issue) =>
        `action number ${quoteValue(String(issue.input))} must be a whole number from 1 to ${MAX_ACTION_NUMBER}`,
    })
    .transform(Number),
});

/** Route params through their schema; the first problem becomes the 400's message. */
export function parseParams<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? "malformed link");
  return parsed.data;
}

/**
 * An optional ID query parameter: absent when missing, empty or an unreplaced macro (`{hit}`), a 400
 * naming the parameter when it is something else that is not an ID.
 */
export function optionalId(query: Record<string, string>, param: string, noun: string): string | null {
  const read = readIdField(param, Object.hasOwn(query, param) ? query[param] : undefined);
  if (read.kind === "invalid") {
    throw badRequest(`${noun} (${param}) ${quoteValue(query[param] ?? "")} is not a valid ID`);
  }
  return read.kind === "id" ? read.id : null;
}

/** The same, for hints we can do without (a stale vid on an entrance link): a bad value is ignored. */
export function lenientId(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const read = readIdField("id", raw);
  return read.kind === "id" ? read.id : null;
}
