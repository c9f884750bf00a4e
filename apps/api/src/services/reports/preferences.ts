import { findReportPreferences, saveReportPreferences } from "@hitrail/db";
import { z } from "zod";
import { forbidden } from "../../errors.ts";
import { isoTimeNullable } from "../../schemas/common.ts";
import { type Actor, inWorkspace, workspaceService } from "../context.ts";

// The report grid's settings per user and workspace (the column picker's choice). API keys have no
// user to remember them for: they read the defaults, and saving is refused (403).

const output = z.object({
  /** Metric column keys in the order shown; null: the user has not chosen (show the defaults). */
  columns: z.array(z.string()).nullable(),
  updatedAt: isoTimeNullable,
});

const userOf = (actor: Actor) => (actor.kind === "user" ? actor.userId : null);

export const getReportPreferences = workspaceService({
  role: "viewer",
  input: z.object({}),
  output,
  run: ({ ctx }) => {
    const userId = userOf(ctx.actor);
    if (!userId) return Promise.resolve({ columns: null, updatedAt: null });
    return inWorkspace(ctx, async (tx) => {
      const row = await findReportPreferences(tx, { workspaceId: ctx.workspace.id, userId });
      return { columns: row?.columns ?? null, updatedAt: row?.updatedAt ?? null };
    });
  },
});

const columnKey = z
  .string()
  .regex(/^(event:[0-9a-f-]{36}|[A-Za-z]{1,40})$/, { message: "must be a column key" });

export const saveReportPreferencesService = workspaceService({
  role: "viewer",
  input: z.object({
    columns: z
      .array(columnKey)
      .min(1, { message: "must show at least one column" })
      .max(100, { message: "must list at most 100 columns" })
      .refine((c) => new Set(c).size === c.length, { message: "must not list a column twice" }),
  }),
  output,
  run: ({ ctx, input }) => {
    const userId = userOf(ctx.actor);
    if (!userId) throw forbidden("report preferences belong to a signed-in user, not an API key");
    return inWorkspace(ctx, async (tx) => {
      const row = await saveReportPreferences(tx, {
        workspaceId: ctx.workspace.id,
        userId,
        columns: input.columns,
      });
      return { columns: row.columns, updatedAt: row.updatedAt };
    });
  },
});
