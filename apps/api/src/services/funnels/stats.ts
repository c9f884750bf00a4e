import { normalizeMoney } from "@hitrail/core";
import { type Executor, findFunnel, reportConversions, reportVisits } from "@hitrail/db";
import { z } from "zod";
import { badRequest, notFound } from "../../errors.ts";
import { id } from "../../schemas/common.ts";
import { inWorkspace, workspaceService } from "../context.ts";

// Funnel numbers read through the report's own queries (hourly rollups, workspace time zone), so the
// builder and the funnel list always agree with the report grid: no second way of counting.

export const metricsOutput = z.object({
  visits: z.number().int(),
  conversions: z.number().int(),
  revenue: z.string(),
});
export type Metrics = z.input<typeof metricsOutput>;

const localDate = z.iso.date({ message: "must be a date such as 2026-05-17" });

/** Today's date in a time zone, as the report's date filter takes it. */
export function todayIn(timeZone: string, now = new Date()): string {
  return new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(now);
}

/** Visits, conversions (direct: the conversion's own hit) and revenue per value of one dimension. */
export async function metricsBy(
  tx: Executor,
  q: {
    workspaceId: string;
    timeZone: string;
    fromDate: string;
    toDate: string;
    dimension: "funnel" | "node";
    funnelId?: string;
  },
): Promise<Map<string, Metrics>> {
  const query = {
    workspaceId: q.workspaceId,
    timeZone: q.timeZone,
    fromDate: q.fromDate,
    toDate: q.toDate,
    groupBy: [q.dimension],
    ...(q.funnelId ? { funnelId: q.funnelId } : {}),
  };
  const [visits, conversions] = await Promise.all([reportVisits(tx, query), reportConversions(tx, query)]);
  const out = new Map<string, Metrics>();
  const slot = (key: string | null | undefined) => {
    const k = key ?? "";
    let m = out.get(k);
    if (!m) {
      m = { visits: 0, conversions: 0, revenue: "0" };
      out.set(k, m);
    }
    return m;
  };
  // As reports count them: a funnel's visits are its entrances (one per journey), a node's its page views.
  for (const v of visits)
    slot(v.key[q.dimension]).visits += q.dimension === "funnel" ? v.entrances : v.visits;
  for (const c of conversions) {
    const m = slot(c.key[q.dimension]);
    m.conversions += c.directConversions;
    m.revenue = normalizeMoney(c.directRevenue);
  }
  return out;
}

/** Each node's visits, conversions and revenue over local dates, for the builder's overlay. */
export const funnelStats = workspaceService({
  role: "viewer",
  input: z.object({ funnelId: id, from: localDate, to: localDate }),
  output: z.object({
    timeZone: z.string(),
    from: z.string(),
    to: z.string(),
    nodes: z.record(z.string(), metricsOutput),
  }),
  run: ({ ctx, input }) => {
    if (input.to < input.from) throw badRequest("to: must not be before from");
    if ((Date.parse(input.to) - Date.parse(input.from)) / 86_400_000 > 366)
      throw badRequest("to: a range covers at most 366 days");
    return inWorkspace(ctx, async (tx) => {
      const funnel = await findFunnel(tx, { workspaceId: ctx.workspace.id, funnelId: input.funnelId });
      if (!funnel) throw notFound("funnel");
      const byNode = await metricsBy(tx, {
        workspaceId: ctx.workspace.id,
        timeZone: ctx.workspace.timeZone,
        fromDate: input.from,
        toDate: input.to,
        dimension: "node",
        funnelId: funnel.id,
      });
      return {
        timeZone: ctx.workspace.timeZone,
        from: input.from,
        to: input.to,
        nodes: Object.fromEntries(byNode),
      };
    });
  },
});
