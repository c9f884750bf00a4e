import type { NodeConfig } from "@hitrail/core";
import { findFunnel, loadFunnelRows, newId, saveFunnelGraph } from "@hitrail/db";
import { z } from "zod";
import { badRequest, notFound } from "../../errors.ts";
import { id, name } from "../../schemas/common.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { remapConfig } from "./graph.ts";

/**
 * A copy of a funnel under a new id, every node with a new id too (hits and reports of the original
 * stay with the original), pages, routes and action triggers as they are. Archived funnels can be
 * cloned: that is how an old campaign is started again without touching its history.
 */
export const cloneFunnel = workspaceService({
  role: "member",
  input: z.object({ funnelId: id, name: name.optional() }),
  output: z.object({ funnelId: z.string(), version: z.number().int(), name: z.string() }),
  run: async ({ ctx, input }) => {
    const copy = await inWorkspace(ctx, async (tx) => {
      const funnel = await findFunnel(tx, { workspaceId: ctx.workspace.id, funnelId: input.funnelId });
      if (!funnel) throw notFound("funnel");
      if (!funnel.entryNodeId) throw badRequest("this funnel has no entry node yet: save it once first");
      const { nodes, actions } = await loadFunnelRows(tx, {
        workspaceId: ctx.workspace.id,
        funnelId: funnel.id,
      });
      const ids = new Map(nodes.map((n) => [n.id, newId()]));
      const map = (old: string) => {
        const mapped = ids.get(old);
        if (!mapped) throw new Error(`funnel ${funnel.id} refers to node ${old}, which it does not have`);
        return mapped;
      };
      const copyName = input.name ?? `${funnel.name} (copy)`.slice(0, 200);
      const saved = await saveFunnelGraph(tx, {
        workspaceId: ctx.workspace.id,
        funnelId: newId(),
        name: copyName,
        entryNodeId: map(funnel.entryNodeId),
        nodes: nodes.map((n) => ({
          id: map(n.id),
          name: n.name,
          config: remapConfig(n.config as NodeConfig, map),
          position: n.position,
        })),
        actions: actions.map((a) => ({
          from: map(a.fromNodeId),
          number: a.number,
          to: map(a.toNodeId),
          triggers: a.triggers,
        })),
      });
      await audit(tx, ctx, {
        action: "funnel.clone",
        entity: "funnel",
        entityId: saved.funnelId,
        detail: `${copyName}: copy of ${funnel.id} (${nodes.length} nodes, ${actions.length} actions)`,
      });
      return { ...saved, name: copyName };
    });
    await ctx.routing?.funnelChanged({
      workspaceId: ctx.workspace.id,
      funnelId: copy.funnelId,
      version: copy.version,
    });
    return copy;
  },
});
