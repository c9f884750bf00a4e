import {
  type FunnelAction,
  type FunnelGraph,
  type FunnelNode,
  type FunnelProblem,
  type NodeConfig,
  problemLabel,
} from "@hitrail/core";
import type { SaveFunnelInput } from "./schemas.ts";

// Problems name nodes as the person drawing the funnel named them; the node's key travels in
// `nodeId` so the builder can mark the node itself.
const label = problemLabel;

/** Problems core's graph cannot show because it keys nodes and actions by id: duplicates. */
export function duplicateProblems(input: SaveFunnelInput): FunnelProblem[] {
  const problems: FunnelProblem[] = [];
  const seen = new Set<string>();
  for (const node of input.nodes) {
    if (seen.has(node.id))
      problems.push({ nodeId: node.id, message: `${label(node)}: two nodes share this id` });
    seen.add(node.id);
  }
  const names = new Map(input.nodes.map((n) => [n.id, n]));
  const actions = new Set<string>();
  for (const a of input.actions) {
    const key = `${a.from}\u0000${a.number}`;
    if (actions.has(key)) {
      const from = names.get(a.from);
      problems.push({
        nodeId: a.from,
        message: `${from ? label(from) : "a node that is not in the funnel"}: two actions are numbered ${a.number}`,
      });
    }
    actions.add(key);
  }
  return problems;
}

/** The graph as core validates and the tracker routes it, still under the client's keys. */
export function toGraph(
  input: SaveFunnelInput,
  ctx: { funnelId: string; workspaceId: string; timeZone: string },
) {
  const nodes: Record<string, FunnelNode> = {};
  for (const n of input.nodes) nodes[n.id] = { id: n.id, name: n.name, config: n.config as NodeConfig };
  const actions: Record<string, Record<number, FunnelAction>> = {};
  for (const a of input.actions) {
    const byNumber = actions[a.from] ?? {};
    actions[a.from] = byNumber;
    byNumber[a.number] = { from: a.from, number: a.number, to: a.to, triggers: a.triggers };
  }
  const graph: FunnelGraph = {
    id: ctx.funnelId,
    workspaceId: ctx.workspaceId,
    entryNodeId: input.entryNodeId,
    timeZone: ctx.timeZone,
    nodes,
    actions,
  };
  return graph;
}

/** Rewrites every node reference of a config through `map` (client keys → stored ids). */
export function remapConfig(config: NodeConfig, map: (key: string) => string): NodeConfig {
  switch (config.kind) {
    case "entry":
    case "rotator":
      return { kind: config.kind, routes: config.routes.map((r) => ({ ...r, to: map(r.to) })) };
    case "condition":
      return {
        kind: "condition",
        routes: config.routes.map((r) => ({ ...r, to: map(r.to) })),
        defaultTo: map(config.defaultTo),
      };
    default:
      return config;
  }
}

export { label as nodeLabel };
