// The funnel graph shared by the api (validation when a funnel is saved) and the tracker (routing a
// visit). Plain types, no schema library: the api owns the zod schema that produces these.

export type NodeKind = "entry" | "rotator" | "condition" | "lander" | "offer" | "external";

export interface Route {
  to: string;
  weight: number;
}

/** What a condition rule can test: the one list the api's schema and the builder's menu use. */
export const RULE_FIELDS = [
  "country",
  "device",
  "os",
  "browser",
  "language",
  "ip",
  "weekday",
  "hour",
  "query",
] as const;
export type RuleField = (typeof RULE_FIELDS)[number];

export const RULE_OPS = ["in", "not_in"] as const;
export type RuleOp = (typeof RULE_OPS)[number];

export interface Rule {
  field: RuleField;
  op: RuleOp;
  values: string[];
  /** The query parameter a "query" rule reads. */
  param?: string;
}

export interface ConditionRoute {
  match: "all" | "any";
  rules: Rule[];
  to: string;
}

export type NodeConfig =
  | { kind: "entry" | "rotator"; routes: Route[] }
  | { kind: "condition"; routes: ConditionRoute[]; defaultTo: string }
  | { kind: "lander" | "offer"; pages: Array<{ pageId: string; weight: number }> }
  | { kind: "external"; url: string };

export interface FunnelNode {
  id: string;
  name: string;
  config: NodeConfig;
}

export interface ActionTriggers {
  conversion?: { revenue?: string | null; everyTime?: boolean } | null;
  /**
   * `everyTime`: count each click, instead of once per visitor session and action (core's
   * planActionTriggers).
   */
  events?: Array<{ eventTypeId: string; revenue?: string | null; everyTime?: boolean }>;
}

export interface FunnelAction {
  from: string;
  number: number;
  to: string;
  triggers: ActionTriggers;
}

export interface FunnelGraph {
  id: string;
  workspaceId: string;
  entryNodeId: string;
  /** IANA zone in which weekday and hour rules are read. */
  timeZone: string;
  nodes: Record<string, FunnelNode>;
  /** Actions by source node, then by action number. */
  actions: Record<string, Record<number, FunnelAction>>;
}

export interface VisitContext {
  country: string | null;
  device: string | null;
  os: string | null;
  browser: string | null;
  language: string | null;
  ip: string | null;
  query: Record<string, string>;
  /** epoch ms */
  now: number;
}

export type Resolution =
  | { ok: true; node: FunnelNode; pageId: string | null; url: string | null; via: string[] }
  | { ok: false; reason: string };

export type ActionResolution = { ok: true; action: FunnelAction } | { ok: false; reason: string };

export interface FunnelProblem {
  nodeId: string | null;
  message: string;
}

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

/** A weight that counts: finite and above 0 (anything else is 0). */
export function usableWeight(w: number): number {
  return Number.isFinite(w) && w > 0 ? w : 0;
}

export function nodeOf(graph: FunnelGraph, nodeId: string): FunnelNode | undefined {
  return Object.hasOwn(graph.nodes, nodeId) ? graph.nodes[nodeId] : undefined;
}

/** A node as routing failures name it: by name and id. */
export function label(node: FunnelNode): string {
  return node.name.trim() === "" ? `node ${node.id}` : `node '${node.name}' (${node.id})`;
}

/**
 * A node as a validation problem names it, for the person drawing the funnel: by its name only. Ids
 * there are the builder's own keys, which mean nothing to them (the problem also carries nodeId, so
 * the builder marks the node itself).
 */
export function problemLabel(node: { name: string; config: { kind: string } }): string {
  return node.name.trim() === "" ? `the unnamed ${node.config.kind} node` : `node '${node.name.trim()}'`;
}
