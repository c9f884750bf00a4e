import { conversionRevenueProblem } from "../money.ts";
import {
  type FunnelGraph,
  type FunnelNode,
  type FunnelProblem,
  type NodeConfig,
  type NodeKind,
  nodeOf,
  problemLabel,
  type Rule,
  usableWeight,
  WEEKDAYS,
} from "./graph.ts";
import { isValidTimeZone, parseIpRange } from "./match.ts";

// What a funnel must satisfy before it is saved: every problem at once, each naming its node the
// way the person drawing the funnel named it.

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
