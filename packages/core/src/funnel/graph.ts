import ipaddr from "ipaddr.js";
import { conversionRevenueProblem } from "./money.ts";

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

/** Routing nodes walked before giving up; real funnels need a handful. */
export const MAX_ROUTING_STEPS = 32;

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

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

function usableWeight(w: number): number {
  return Number.isFinite(w) && w > 0 ? w : 0;
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

// --- condition rules -------------------------------------------------------------------------------

const dateFormats = new Map<string, Intl.DateTimeFormat>();

// Formatters are costly to build and routing runs per click, so one is kept per zone.
function formatFor(timeZone: string): Intl.DateTimeFormat {
  let format = dateFormats.get(timeZone);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat("en-US", {
        timeZone,
        weekday: "short",
        hour: "numeric",
        hourCycle: "h23",
      });
    } catch {
      // validateFunnel reports a bad zone when the funnel is saved; a click must still route.
      format = formatFor("UTC");
    }
    dateFormats.set(timeZone, format);
  }
  return format;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** Weekday ("mon".."sun") and hour (0..23) of an instant in a time zone. */
export function localWeekdayHour(now: number, timeZone: string): { weekday: string; hour: number } {
  let weekday = "";
  let hour = 0;
  for (const part of formatFor(timeZone).formatToParts(now)) {
    if (part.type === "weekday") weekday = part.value.toLowerCase().slice(0, 3);
    if (part.type === "hour") hour = Number.parseInt(part.value, 10) % 24;
  }
  return { weekday, hour };
}

export type IpRange = [ipaddr.IPv4 | ipaddr.IPv6, number];

export function parseIpRange(value: string): IpRange | null {
  const v = value.trim();
  try {
    if (v.includes("/")) {
      const [addr, bits] = ipaddr.parseCIDR(v);
      if (addr.kind() === "ipv4" && !ipaddr.IPv4.isValidFourPartDecimal(v.split("/")[0] ?? "")) return null;
      return [addr, bits];
    }
    if (ipaddr.IPv4.isValidFourPartDecimal(v)) return [ipaddr.IPv4.parse(v), 32];
    if (ipaddr.IPv6.isValid(v)) return [ipaddr.IPv6.parse(v), 128];
  } catch {
    return null;
  }
  return null;
}

const parsedRanges = new WeakMap<readonly string[], Array<IpRange | null>>();

function rangesOf(values: readonly string[]): Array<IpRange | null> {
  let ranges = parsedRanges.get(values);
  if (ranges === undefined) {
    ranges = values.map(parseIpRange);
    parsedRanges.set(values, ranges);
  }
  return ranges;
}

function ipInRanges(ip: string, values: readonly string[]): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process() turns an IPv4-mapped IPv6 address (::ffff:1.2.3.4) back into IPv4.
    addr = ipaddr.process(ip.trim());
  } catch {
    return false;
  }
  for (const range of rangesOf(values)) {
    if (range === null) continue;
    const [net, bits] = range;
    if (addr.kind() === net.kind()) {
      if (addr.match(range)) return true;
    } else if (addr.kind() === "ipv4" && net.kind() === "ipv6") {
      if ((addr as ipaddr.IPv4).toIPv4MappedAddress().match([net, bits])) return true;
    }
  }
  return false;
}

function primaryLanguage(raw: string): string {
  // Accepts a bare tag ("en-US") or a whole Accept-Language header ("en-US,en;q=0.9").
  const first = raw.split(",")[0]?.split(";")[0] ?? "";
  return first.trim().replace(/_/g, "-").toLowerCase();
}

function fieldMatches(rule: Rule, ctx: VisitContext, timeZone: string): boolean {
  const lower = (v: string | null) => (v === null ? null : v.trim().toLowerCase());
  const anyEqual = (v: string | null) => v !== null && rule.values.some((x) => x.trim().toLowerCase() === v);
  switch (rule.field) {
    case "country":
      return anyEqual(lower(ctx.country));
    case "device":
      return anyEqual(lower(ctx.device));
    case "os":
      return anyEqual(lower(ctx.os));
    case "browser":
      return anyEqual(lower(ctx.browser));
    case "language": {
      if (ctx.language === null) return false;
      const tag = primaryLanguage(ctx.language);
      const primary = tag.split("-")[0] ?? tag;
      return rule.values.some((x) => {
        const want = x.trim().replace(/_/g, "-").toLowerCase();
        return want === tag || (!want.includes("-") && want === primary);
      });
    }
    case "ip":
      return ctx.ip !== null && ipInRanges(ctx.ip, rule.values);
    case "weekday":
      return anyEqual(localWeekdayHour(ctx.now, timeZone).weekday);
    case "hour": {
      const { hour } = localWeekdayHour(ctx.now, timeZone);
      return rule.values.some((x) => /^\d{1,2}$/.test(x.trim()) && Number.parseInt(x, 10) === hour);
    }
    case "query": {
      if (rule.param === undefined) return false;
      const value = Object.hasOwn(ctx.query, rule.param) ? ctx.query[rule.param] : undefined;
      // Query values are the sender's data (sub IDs, keywords), so they compare exactly.
      return value !== undefined && rule.values.includes(value);
    }
  }
}

/** Whether a visit satisfies one rule; "not_in" is the exact negation of "in" (unknown counts as not in). */
export function ruleMatches(rule: Rule, ctx: VisitContext, timeZone: string): boolean {
  const inValues = fieldMatches(rule, ctx, timeZone);
  return rule.op === "not_in" ? !inValues : inValues;
}

export function conditionRouteMatches(route: ConditionRoute, ctx: VisitContext, timeZone: string): boolean {
  return route.match === "all"
    ? route.rules.every((r) => ruleMatches(r, ctx, timeZone))
    : route.rules.some((r) => ruleMatches(r, ctx, timeZone));
}

// --- routing ---------------------------------------------------------------------------------------

function nodeOf(graph: FunnelGraph, nodeId: string): FunnelNode | undefined {
  return Object.hasOwn(graph.nodes, nodeId) ? graph.nodes[nodeId] : undefined;
}

function label(node: FunnelNode): string {
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

// --- validation ------------------------------------------------------------------------------------

function isRoutingKind(kind: NodeKind): boolean {
  return kind === "entry" || kind === "rotator" || kind === "condition";
}

function routingTargets(config: NodeConfig): string[] {
  switch (config.kind) {
    case "entry":
    case "rotator":
      return config.routes.filter((r) => usableWeight(r.weight) > 0).map((r) => r.to);
    case "condition":
      return [...config.routes.map((r) => r.to), ...(config.defaultTo ? [config.defaultTo] : [])];
    default:
      return [];
  }
}

function validateRule(rule: Rule, where: string): string[] {
  const problems: string[] = [];
  if (rule.op !== "in" && rule.op !== "not_in") problems.push(`${where}: operator '${rule.op}' is unknown`);
  if (rule.values.length === 0) problems.push(`${where}: ${rule.field} rule has no values`);
  switch (rule.field) {
    case "weekday":
      for (const v of rule.values) {
        if (!(WEEKDAYS as readonly string[]).includes(v.trim().toLowerCase())) {
          problems.push(`${where}: weekday '${v}' is not one of ${WEEKDAYS.join(", ")}`);
        }
      }
      break;
    case "hour":
      for (const v of rule.values) {
        if (!/^\d{1,2}$/.test(v.trim()) || Number.parseInt(v, 10) > 23) {
          problems.push(`${where}: hour '${v}' is not a whole hour from 0 to 23`);
        }
      }
      break;
    case "ip":
      for (const v of rule.values) {
        if (parseIpRange(v) === null) problems.push(`${where}: '${v}' is not an IP address or CIDR range`);
      }
      break;
    case "query":
      if (rule.param === undefined || rule.param.trim() === "") {
        problems.push(`${where}: query rule names no parameter`);
      }
      break;
    case "country":
    case "device":
    case "os":
    case "browser":
    case "language":
      break;
    default:
      problems.push(`${where}: rule field '${(rule as { field: string }).field}' is unknown`);
  }
  return problems;
}

function validateNode(graph: FunnelGraph, key: string, node: FunnelNode): FunnelProblem[] {
  const problems: FunnelProblem[] = [];
  const add = (message: string) =>
    problems.push({ nodeId: key, message: `${problemLabel(node)}: ${message}` });
  const exists = (id: string) => nodeOf(graph, id) !== undefined;
  if (node.id !== key) add(`is stored under key ${key}`);
  const config = node.config;
  switch (config.kind) {
    case "entry":
    case "rotator":
      if (config.routes.length === 0) add("has no route");
      else if (config.routes.every((r) => usableWeight(r.weight) === 0)) add("all route weights are 0");
      config.routes.forEach((r, i) => {
        if (!Number.isFinite(r.weight) || r.weight < 0) add(`route ${i + 1} has weight ${r.weight}`);
        if (!exists(r.to)) add(`route ${i + 1} leads to missing node ${r.to}`);
      });
      break;
    case "condition":
      if (!config.defaultTo) add("has no default route");
      else if (!exists(config.defaultTo)) add(`default route leads to missing node ${config.defaultTo}`);
      config.routes.forEach((r, i) => {
        const where = `route ${i + 1}`;
        if (!exists(r.to)) add(`${where} leads to missing node ${r.to}`);
        if (r.match !== "all" && r.match !== "any") add(`${where}: match '${r.match}' is unknown`);
        if (r.rules.length === 0) add(`${where} has no rules`);
        for (const rule of r.rules) for (const p of validateRule(rule, where)) add(p);
      });
      break;
    case "lander":
    case "offer":
      if (config.pages.length === 0) add(`${config.kind} node has no page`);
      else if (config.pages.every((p) => usableWeight(p.weight) === 0)) add("all page weights are 0");
      config.pages.forEach((p, i) => {
        if (!Number.isFinite(p.weight) || p.weight < 0) add(`page ${i + 1} has weight ${p.weight}`);
        if (p.pageId.trim() === "") add(`page ${i + 1} has no page ID`);
      });
      break;
    case "external":
      if (!/^https?:\/\/\S+$/i.test(config.url.trim())) add(`URL '${config.url}' is not an http(s) URL`);
      break;
    default:
      add(`kind '${(config as { kind: string }).kind}' is unknown`);
  }
  return problems;
}

function validateActions(graph: FunnelGraph): FunnelProblem[] {
  const problems: FunnelProblem[] = [];
  for (const [fromId, byNumber] of Object.entries(graph.actions)) {
    const from = nodeOf(graph, fromId);
    const name = from === undefined ? "a node that is not in the funnel" : problemLabel(from);
    const add = (message: string) => problems.push({ nodeId: fromId, message: `${name}: ${message}` });
    if (from === undefined)
      problems.push({ nodeId: fromId, message: "some actions start at a node that is not in the funnel" });
    else if (from.config.kind !== "lander" && from.config.kind !== "offer") {
      add(`is a ${from.config.kind} node; actions start on landers and offers`);
    }
    for (const [numberKey, action] of Object.entries(byNumber)) {
      const n = Number(numberKey);
      if (!Number.isInteger(n) || n < 1) add(`action '${numberKey}' is not a positive whole number`);
      if (action.number !== n || action.from !== fromId)
        add(`action ${numberKey} is stored under the wrong key`);
      if (nodeOf(graph, action.to) === undefined)
        add(`action ${numberKey} leads to missing node ${action.to}`);
      const conversionRevenue = action.triggers.conversion?.revenue;
      const conversionProblem =
        conversionRevenue == null ? null : conversionRevenueProblem(conversionRevenue, "conversion revenue");
      if (conversionProblem !== null) add(`action ${numberKey}: ${conversionProblem}`);
      for (const event of action.triggers.events ?? []) {
        if (event.eventTypeId.trim() === "") add(`action ${numberKey}: an event trigger names no event`);
        const eventProblem =
          event.revenue == null ? null : conversionRevenueProblem(event.revenue, "event revenue");
        if (eventProblem !== null) add(`action ${numberKey}: ${eventProblem}`);
      }
    }
  }
  return problems;
}

// Routing nodes only point at routing nodes or endpoints, so a cycle through them can never reach a
// page; and a routing node whose every path ends in such a cycle strands its visitors.
function validateRoutingCycles(graph: FunnelGraph): FunnelProblem[] {
  const problems: FunnelProblem[] = [];
  const routing = Object.values(graph.nodes).filter((n) => isRoutingKind(n.config.kind));
  const state = new Map<string, "visiting" | "done">();
  const reported = new Set<string>();
  const stack: string[] = [];

  const visit = (id: string): void => {
    state.set(id, "visiting");
    stack.push(id);
    const node = nodeOf(graph, id);
    for (const next of node === undefined ? [] : routingTargets(node.config)) {
      const target = nodeOf(graph, next);
      if (target === undefined || !isRoutingKind(target.config.kind)) continue;
      const s = state.get(next);
      if (s === "visiting") {
        const cycle = stack.slice(stack.indexOf(next));
        const key = [...cycle].sort().join("\u0000");
        if (!reported.has(key)) {
          reported.add(key);
          const names = [...cycle, next].map((c) => nodeOf(graph, c)?.name || c).join(" → ");
          problems.push({ nodeId: next, message: `routing loop that never reaches a page: ${names}` });
        }
      } else if (s === undefined) {
        visit(next);
      }
    }
    stack.pop();
    state.set(id, "done");
  };
  for (const node of routing) if (!state.has(node.id)) visit(node.id);

  // Which routing nodes can reach a page or an external URL at all.
  const reaches = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const node of routing) {
      if (reaches.has(node.id)) continue;
      const ok = routingTargets(node.config).some((t) => {
        const target = nodeOf(graph, t);
        // A missing target is reported on its own; counting it here would only repeat that problem.
        return target === undefined || !isRoutingKind(target.config.kind) || reaches.has(t);
      });
      if (ok) {
        reaches.add(node.id);
        grew = true;
      }
    }
  }
  const inCycle = new Set([...reported].flatMap((key) => key.split("\u0000")));
  for (const node of routing) {
    if (!reaches.has(node.id) && !inCycle.has(node.id) && routingTargets(node.config).length > 0) {
      problems.push({ nodeId: node.id, message: `${problemLabel(node)}: no route from here reaches a page` });
    }
  }
  return problems;
}

/** Problems that stop a funnel from routing visits, each naming its node; empty when it is sound. */
export function validateFunnel(graph: FunnelGraph): FunnelProblem[] {
  const problems: FunnelProblem[] = [];
  const entry = nodeOf(graph, graph.entryNodeId);
  if (!graph.entryNodeId || entry === undefined) {
    problems.push({ nodeId: null, message: "funnel has no entry node" });
  } else if (entry.config.kind !== "entry") {
    problems.push({
      nodeId: entry.id,
      message: `${problemLabel(entry)}: the funnel starts here, so it must be an entry node`,
    });
  }
  if (!isValidTimeZone(graph.timeZone)) {
    problems.push({ nodeId: null, message: `time zone '${graph.timeZone}' is unknown` });
  }
  for (const [key, node] of Object.entries(graph.nodes)) problems.push(...validateNode(graph, key, node));
  problems.push(...validateActions(graph));
  problems.push(...validateRoutingCycles(graph));
  return problems;
}
