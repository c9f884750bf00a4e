import type { FunnelProblem } from "@hitrail/core";
import { validateFunnel } from "@hitrail/core";
import {
  type Executor,
  existingEventTypeIds,
  findFunnel,
  loadFunnelRows,
  loadPages,
  newId,
  saveFunnelGraph,
} from "@hitrail/db";
import { z } from "zod";
import { badRequest, notFound } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { duplicateProblems, nodeLabel, remapConfig, toGraph } from "./graph.ts";
import { type SaveFunnelInput, saveFunnelInput } from "./schemas.ts";

function refuse(problems: FunnelProblem[]): never {
  throw badRequest(`funnel would strand visitors: ${problems.map((p) => p.message).join("; ")}`, problems);
}

/** Every page a lander or offer node names must be a lander or offer (as the node says) of this workspace. */
/** "a lander" / "an offer". */
const aPage = (kind: string) => (kind === "offer" ? "an offer" : "a lander");

async function pageProblems(
  tx: Executor,
  workspaceId: string,
  input: SaveFunnelInput,
): Promise<FunnelProblem[]> {
  const wanted = new Set<string>();
  for (const node of input.nodes) {
    if (node.config.kind === "lander" || node.config.kind === "offer") {
      for (const p of node.config.pages) wanted.add(p.pageId);
    }
  }
  const pages = await loadPages(tx, workspaceId, [...wanted]);
  const problems: FunnelProblem[] = [];
  for (const node of input.nodes) {
    const config = node.config;
    if (config.kind !== "lander" && config.kind !== "offer") continue;
    config.pages.forEach((p, i) => {
      const page = pages.get(p.pageId);
      if (!page) {
        problems.push({
          nodeId: node.id,
          message: `${nodeLabel(node)}: page ${i + 1} is not ${aPage(config.kind)} of this workspace (deleted, or never was)`,
        });
      } else if (page.kind !== config.kind) {
        problems.push({
          nodeId: node.id,
          message: `${nodeLabel(node)}: page ${i + 1} ('${page.name}') is ${aPage(page.kind)}, not ${aPage(config.kind)}`,
        });
      }
    });
  }
  return problems;
}

async function triggerProblems(
  tx: Executor,
  workspaceId: string,
  input: SaveFunnelInput,
): Promise<FunnelProblem[]> {
  const ids = [...new Set(input.actions.flatMap((a) => (a.triggers.events ?? []).map((e) => e.eventTypeId)))];
  const known = await existingEventTypeIds(tx, { workspaceId, ids });
  const nodes = new Map(input.nodes.map((n) => [n.id, n]));
  const problems: FunnelProblem[] = [];
  for (const a of input.actions) {
    for (const e of a.triggers.events ?? []) {
      if (known.has(e.eventTypeId)) continue;
      const from = nodes.get(a.from);
      problems.push({
        nodeId: a.from,
        message: `${from ? nodeLabel(from) : "a node that is not in the funnel"}: action ${a.number} triggers a custom event this workspace does not have (archived or deleted?)`,
      });
    }
  }
  return problems;
}

/**
 * Saves a whole funnel graph. A graph that would strand a visitor (an action or route to nowhere, a
 * node without a page, a page of another workspace, a routing loop) is refused with every problem,
 * each naming its node; nothing is written then. The version bump tells trackers to reload.
 */
export const saveFunnel = workspaceService({
  role: "member",
  input: saveFunnelInput,
  output: z.object({
    funnelId: z.string(),
    version: z.number().int(),
    nodeIds: z.record(z.string(), z.string()),
  }),
  run: async ({ ctx, input }) => {
    const funnelId = input.funnelId ?? newId();
    const shapeProblems = [
      ...duplicateProblems(input),
      ...validateFunnel(
        toGraph(input, { funnelId, workspaceId: ctx.workspace.id, timeZone: ctx.workspace.timeZone }),
      ),
    ];
    if (shapeProblems.length > 0) refuse(shapeProblems);

    const saved = await inWorkspace(ctx, async (tx) => {
      const keep = new Set<string>();
      if (input.funnelId) {
        const funnel = await findFunnel(tx, { workspaceId: ctx.workspace.id, funnelId: input.funnelId });
        if (!funnel) throw notFound("funnel");
        const { nodes } = await loadFunnelRows(tx, { workspaceId: ctx.workspace.id, funnelId: funnel.id });
        for (const n of nodes) keep.add(n.id);
      }
      const problems = [
        ...(await pageProblems(tx, ctx.workspace.id, input)),
        ...(await triggerProblems(tx, ctx.workspace.id, input)),
      ];
      if (problems.length > 0) refuse(problems);

      // Existing nodes keep their ids; every other key becomes a fresh id, so a client cannot point
      // a node id of another funnel (or another workspace) into this one.
      const ids = new Map(input.nodes.map((n) => [n.id, keep.has(n.id) ? n.id : newId()]));
      const map = (key: string) => {
        const mapped = ids.get(key);
        if (!mapped) throw new Error(`node key ${key} survived validation without a node`);
        return mapped;
      };
      const saved = await saveFunnelGraph(tx, {
        workspaceId: ctx.workspace.id,
        funnelId,
        name: input.name,
        entryNodeId: map(input.entryNodeId),
        nodes: input.nodes.map((n) => ({
          id: map(n.id),
          name: n.name,
          config: remapConfig(n.config, map),
          ...(n.position ? { position: n.position } : {}),
        })),
        actions: input.actions.map((a) => ({
          from: map(a.from),
          number: a.number,
          to: map(a.to),
          triggers: a.triggers,
        })),
      });
      await audit(tx, ctx, {
        action: input.funnelId ? "funnel.update" : "funnel.create",
        entity: "funnel",
        entityId: saved.funnelId,
        detail: `${input.name}: ${input.nodes.length} nodes, ${input.actions.length} actions, version ${saved.version}`,
      });
      return { funnelId: saved.funnelId, version: saved.version, nodeIds: Object.fromEntries(ids) };
    });
    // After the commit, before the answer: whoever reads "saved" can click and get this graph.
    await ctx.routing?.funnelChanged({
      workspaceId: ctx.workspace.id,
      funnelId: saved.funnelId,
      version: saved.version,
    });
    return saved;
  },
});
