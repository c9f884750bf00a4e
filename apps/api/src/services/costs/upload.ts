import { isUuid, parseCostCsv, quoteValue } from "@hitrail/core";
import { applyCostUpdate, type CostUpdateRow, trafficSourcesByName } from "@hitrail/db";
import { z } from "zod";
import { badRequest } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { costActor, namesFor } from "./names.ts";
import { costUpdateOutput, toCostUpdateOutput, uploadCostsInput } from "./schemas.ts";

const SHOWN_PROBLEMS = 20;

function nextDay(date: string): string {
  const t = new Date(`${date}T00:00:00Z`);
  t.setUTCDate(t.getUTCDate() + 1);
  return t.toISOString().slice(0, 10);
}

/**
 * A cost file (`date,source,<field>,amount`): one cost update per line, each a whole local day of a
 * traffic source (or of one value of its tracking field). All or nothing: a file with any bad line
 * changes nothing and the answer lists every bad line with its number and reason.
 */
export const uploadCosts = workspaceService({
  role: "member",
  input: uploadCostsInput,
  output: z.object({
    fileName: z.string(),
    field: z.string().nullable(),
    updates: z.array(costUpdateOutput),
  }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const workspaceId = ctx.workspace.id;
      const csv = parseCostCsv(input.csv);
      const problems = [...csv.problems];
      const sources = await trafficSourcesByName(tx, workspaceId);
      const resolved: { row: (typeof csv.rows)[number]; trafficSourceId: string }[] = [];
      for (const row of csv.rows) {
        const named = sources.byName.get(row.source.toLowerCase()) ?? [];
        if (isUuid(row.source) && sources.ids.has(row.source.toLowerCase())) {
          resolved.push({ row, trafficSourceId: row.source.toLowerCase() });
        } else if (named.length === 1) {
          resolved.push({ row, trafficSourceId: named[0] as string });
        } else if (named.length > 1) {
          problems.push({
            line: row.line,
            reason: `${named.length} traffic sources are named ${quoteValue(row.source)}; write its id instead`,
          });
        } else {
          problems.push({
            line: row.line,
            reason: `source ${quoteValue(row.source)} is not a traffic source of this workspace`,
          });
        }
      }
      const updates: CostUpdateRow[] = [];
      // Applied even when other lines are bad, so the answer names every line that would fail;
      // any problem rolls the whole file back below.
      for (const { row, trafficSourceId } of resolved) {
        const result = await applyCostUpdate(tx, {
          workspaceId,
          scope: {
            trafficSourceId,
            field: csv.field !== null && row.value !== null ? { name: csv.field, value: row.value } : null,
          },
          timeZone: ctx.workspace.timeZone,
          localStart: `${row.date}T00:00`,
          localEnd: `${nextDay(row.date)}T00:00`,
          mode: "total",
          amount: row.amount,
          origin: "csv",
          fileName: input.fileName,
          fileLine: row.line,
          actor: costActor(ctx),
        });
        if (result.ok) updates.push(result.update);
        else {
          problems.push({
            line: row.line,
            reason: `no visits of ${quoteValue(row.source)}${row.value !== null ? ` with ${csv.field} ${quoteValue(row.value)}` : ""} on ${row.date}; there is nothing to spread ${row.amount} over`,
          });
        }
      }
      if (problems.length > 0) {
        problems.sort((a, b) => a.line - b.line);
        const shown = problems
          .slice(0, SHOWN_PROBLEMS)
          .map((p) => `line ${p.line}: ${p.reason}`)
          .join("; ");
        const more =
          problems.length > SHOWN_PROBLEMS ? ` (and ${problems.length - SHOWN_PROBLEMS} more)` : "";
        // Thrown inside the transaction: the lines already applied are rolled back with it.
        throw badRequest(`csv: nothing was changed; ${problems.length} bad line(s): ${shown}${more}`, {
          problems,
        });
      }
      await audit(tx, ctx, {
        action: "cost_update.upload",
        entity: "cost_update",
        detail: `${input.fileName}: ${updates.length} cost(s)`,
      });
      const names = await namesFor(tx, workspaceId, updates);
      return {
        fileName: input.fileName,
        field: csv.field,
        updates: updates.map((u) => toCostUpdateOutput(u, names)),
      };
    }),
});
