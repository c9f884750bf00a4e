import {
  type ActionResolution,
  type FunnelGraph,
  label,
  nodeOf,
  type Resolution,
  usableWeight,
  type VisitContext,
} from "./graph.ts";
import { conditionRouteMatches } from "./match.ts";

// Routing one visit: from a node through rotators and conditions to a page, and from a page along
// an action. Randomness comes in as an argument, so tests and benches replay a route exactly.

/** Routing nodes walked before giving up; real funnels need a handful. */
export const MAX_ROUTING_STEPS = 32;

/** Small seeded generator (Mulberry32) for tests and benches: routing takes its rng as an argument. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks one item with probability proportional to its weight; null when no weight is positive. */
export function weightedPick<T extends { weight: number }>(items: readonly T[], rng: () => number): T | null {
  let total = 0;
  for (const item of items) total += usableWeight(item.weight);
  if (total <= 0) return null;
  const r = rng() * total;
  let acc = 0;
  let last: T | null = null;
  for (const item of items) {
    const w = usableWeight(item.weight);
    if (w === 0) continue;
    acc += w;
    last = item;
    if (r < acc) return item;
  }
  // Float rounding can leave r a hair above the sum; the last positive item owns that edge.
  return last;
}

/**
 * Walks the graph from a node (entry links start at the entry node, action links at the action's
 * target) through rotators and conditions until a page (lander or offer, with its page picked) or an
 * external URL.
 */
export function resolveFromNode(
  graph: FunnelGraph,
  nodeId: string,
  ctx: VisitContext,
  rng: () => number,
): Resolution {
  const via: string[] = [];
  const seen = new Set<string>();
  let currentId = nodeId;
  for (let step = 0; step < MAX_ROUTING_STEPS; step++) {
    const node = nodeOf(graph, currentId);
    if (node === undefined) {
      const from = via.length > 0 ? ` (reached from node ${via[via.length - 1]})` : "";
      return { ok: false, reason: `node ${currentId} does not exist in funnel ${graph.id}${from}` };
    }
    // A routing node seen twice means the visit would go round forever.
    if (seen.has(node.id)) return { ok: false, reason: `routing loop at ${label(node)}` };
    seen.add(node.id);
    const config = node.config;
    switch (config.kind) {
      case "lander":
      case "offer": {
        const page = weightedPick(config.pages, rng);
        if (page === null) return { ok: false, reason: `${label(node)} has no page with a weight above 0` };
        return { ok: true, node, pageId: page.pageId, url: null, via };
      }
      case "external":
        return { ok: true, node, pageId: null, url: config.url, via };
      case "entry":
      case "rotator": {
        const route = weightedPick(config.routes, rng);
        if (route === null) return { ok: false, reason: `${label(node)} has no route with a weight above 0` };
        via.push(node.id);
        currentId = route.to;
        break;
      }
      case "condition": {
        const route = config.routes.find((r) => conditionRouteMatches(r, ctx, graph.timeZone));
        via.push(node.id);
        currentId = route === undefined ? config.defaultTo : route.to;
        break;
      }
    }
  }
  return { ok: false, reason: `no page reached after ${MAX_ROUTING_STEPS} routing steps` };
}

/** The action `/action/N` follows from a page node. */
export function resolveAction(
  graph: FunnelGraph,
  fromNodeId: string,
  actionNumber: number,
): ActionResolution {
  const from = nodeOf(graph, fromNodeId);
  if (from === undefined)
    return { ok: false, reason: `node ${fromNodeId} does not exist in funnel ${graph.id}` };
  if (from.config.kind !== "lander" && from.config.kind !== "offer") {
    return {
      ok: false,
      reason: `${label(from)} is a ${from.config.kind} node; actions start on landers and offers`,
    };
  }
  const byNumber = Object.hasOwn(graph.actions, fromNodeId) ? graph.actions[fromNodeId] : undefined;
  const action =
    byNumber !== undefined && Number.isInteger(actionNumber) && Object.hasOwn(byNumber, actionNumber)
      ? byNumber[actionNumber]
      : undefined;
  if (action === undefined) return { ok: false, reason: `${label(from)} has no action ${actionNumber}` };
  if (nodeOf(graph, action.to) === undefined) {
    return {
      ok: false,
      reason: `action ${actionNumber} of ${label(from)} leads to missing node ${action.to}`,
    };
  }
  return { ok: true, action };
}
