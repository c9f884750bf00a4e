import { findFunnel, listFunnels as listFunnelRows, loadFunnelRows, setFunnelArchived } from "@hitrail/db";
import { z } from "zod";
import { notFound } from "../../errors.ts";
import { id, listInput, nextCursor } from "../../schemas/common.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { funnelOutput, funnelSummaryOutput } from "./schemas.ts";
import { metricsBy, metricsOutput, todayIn } from "./stats.ts";

const ZERO = { visits: 0, conversions: 0, revenue: "0" };

export const listFunnels = workspaceService({
  role: "viewer",
  input: listInput,
  output: z.object({
    items: z.array(funnelSummaryOutput.extend({ today: metricsOutput })),
    /** The local date "today" means, in the workspace's time zone. */
    today: z.string(),
    timeZone: z.string(),
    nextCursor: z.string().nullable(),
  }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const items = await listFunnelRows(tx, { workspaceId: ctx.workspace.id, ...input });
      const today = todayIn(ctx.workspace.timeZone);
      const byFunnel =
        items.length === 0
          ? new Map()
          : await metricsBy(tx, {
              workspaceId: ctx.workspace.id,
              timeZone: ctx.workspace.timeZone,
              fromDate: today,
              toDate: today,
              dimension: "funnel",
            });
      return {
        items: items.map((f) => ({ ...f, today: byFunnel.get(f.id) ?? ZERO })),
        today,
        timeZone: ctx.workspace.timeZone,
        nextCursor: nextCursor(items, input.limit),
      };
    }),
});

/** A funnel as the builder draws it: nodes with positions, actions with triggers. */
export const getFunnel = workspaceService({
  role: "viewer",
  input: z.object({ funnelId: id }),
  output: funnelOutput,
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const funnel = await findFunnel(tx, { workspaceId: ctx.workspace.id, funnelId: input.funnelId });
      if (!funnel) throw notFound("funnel");
      const { nodes, actions } = await loadFunnelRows(tx, {
        workspaceId: ctx.workspace.id,
        funnelId: funnel.id,
      });
      return {
        id: funnel.id,
        name: funnel.name,
        entryNodeId: funnel.entryNodeId,
        version: funnel.version,
        archivedAt: funnel.archivedAt,
        createdAt: funnel.createdAt,
        updatedAt: funnel.updatedAt,
        nodes: nodes.map((n) => ({
          id: n.id,
          name: n.name,
          kind: n.kind,
          config: n.config,
          position: n.position,
        })),
        actions: actions.map((a) => ({
          from: a.fromNodeId,
          number: a.number,
          to: a.toNodeId,
          triggers: a.triggers,
        })),
      };
    }),
});

export const archiveFunnel = workspaceService({
  role: "member",
  input: z.object({ funnelId: id, archived: z.boolean().default(true) }),
  output: funnelSummaryOutput.omit({ nodeCount: true }),
  run: async ({ ctx, input }) => {
    const row = await inWorkspace(ctx, async (tx) => {
      const row = await setFunnelArchived(tx, { workspaceId: ctx.workspace.id, ...input });
      if (!row) throw notFound("funnel");
      await audit(tx, ctx, {
        action: input.archived ? "funnel.archive" : "funnel.restore",
        entity: "funnel",
        entityId: row.id,
      });
      return row;
    });
    // An archived funnel stops routing on the next click, a restored one routes again.
    await ctx.routing?.funnelChanged({
      workspaceId: ctx.workspace.id,
      funnelId: row.id,
      version: row.version,
    });
    return row;
  },
});
