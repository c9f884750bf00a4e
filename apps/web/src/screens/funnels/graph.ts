import type { Edge, Node } from "@xyflow/react";
import type { RouterInputs, RouterOutputs } from "../../trpc.ts";

// The funnel as the builder draws it (React Flow nodes and edges) and as the api saves it, and the
// conversions between the two. No React here.

export type SaveInput = RouterInputs["funnels"]["save"];
export type NodeConfig = SaveInput["nodes"][number]["config"];
export type Kind = NodeConfig["kind"];
export type Rule = Extract<NodeConfig, { kind: "condition" }>["routes"][number]["rules"][number];
export type Triggers = NonNullable<NonNullable<SaveInput["actions"]>[number]["triggers"]>;

export interface NodeData extends Record<string, unknown> {
  name: string;
  kind: Kind;
  pages: Array<{ pageId: string; weight: number }>;
  url: string;
  problem: string | null;
}
export interface EdgeData extends Record<string, unknown> {
  /** Routes leave entry, rotator and condition nodes; actions leave landers and offers. */
  role: "route" | "action";
  weight: number;
  number: number;
  triggers: Triggers;
  rules: Rule[];
  isDefault: boolean;
}
export type FNode = Node<NodeData, "funnel">;
export type FEdge = Edge<EdgeData>;

export const KIND_LABEL: Record<Kind, string> = {
  entry: "Traffic entry",
  rotator: "Rotator",
  condition: "Condition",
  lander: "Lander",
  offer: "Offer",
  external: "External URL",
};
export const ROUTING: Kind[] = ["entry", "rotator", "condition"];

let keySeq = 0;
export const newKey = () => `new-${Date.now().toString(36)}-${keySeq++}`;

export function edgeLabel(d: EdgeData): string {
  if (d.role === "action") {
    const t = [
      d.triggers.conversion ? "conversion" : null,
      (d.triggers.events ?? []).length ? "events" : null,
    ].filter(Boolean);
    return `Action ${d.number}${t.length ? ` ⚡ ${t.join("+")}` : ""}`;
  }
  if (d.isDefault) return "default";
  if (d.rules.length)
    return d.rules.map((r) => `${r.field} ${r.op === "in" ? "∈" : "∉"} ${r.values.join(",")}`).join(" & ");
  return `weight ${d.weight}`;
}

export function toFlow(funnel: RouterOutputs["funnels"]["get"]): { nodes: FNode[]; edges: FEdge[] } {
  const nodes: FNode[] = funnel.nodes.map((n) => {
    const config = n.config as NodeConfig;
    return {
      id: n.id,
      type: "funnel",
      position: n.position,
      data: {
        name: n.name,
        kind: config.kind,
        pages: config.kind === "lander" || config.kind === "offer" ? config.pages : [],
        url: config.kind === "external" ? config.url : "",
        problem: null,
      },
    };
  });
  const edges: FEdge[] = [];
  const base = { weight: 1, number: 0, triggers: {}, rules: [], isDefault: false };
  for (const n of funnel.nodes) {
    const config = n.config as NodeConfig;
    if (config.kind === "entry" || config.kind === "rotator") {
      config.routes.forEach((r, i) => {
        edges.push({
          id: `${n.id}-r${i}`,
          source: n.id,
          target: r.to,
          data: { ...base, role: "route", weight: r.weight },
        });
      });
    } else if (config.kind === "condition") {
      config.routes.forEach((r, i) => {
        edges.push({
          id: `${n.id}-r${i}`,
          source: n.id,
          target: r.to,
          data: { ...base, role: "route", rules: r.rules },
        });
      });
      edges.push({
        id: `${n.id}-default`,
        source: n.id,
        target: config.defaultTo,
        data: { ...base, role: "route", isDefault: true },
      });
    }
  }
  for (const a of funnel.actions) {
    edges.push({
      id: `${a.from}-a${a.number}`,
      source: a.from,
      target: a.to,
      data: { ...base, role: "action", number: a.number, triggers: a.triggers as Triggers },
    });
  }
  return { nodes, edges: edges.map((e) => ({ ...e, label: e.data ? edgeLabel(e.data) : "" })) };
}

export function toSaveInput(
  workspaceId: string,
  funnelId: string | undefined,
  name: string,
  nodes: FNode[],
  edges: FEdge[],
): SaveInput {
  const out = (id: string) => edges.filter((e) => e.source === id && e.data);
  const entry = nodes.find((n) => n.data.kind === "entry");
  return {
    workspaceId,
    ...(funnelId ? { funnelId } : {}),
    name,
    entryNodeId: entry?.id ?? "",
    nodes: nodes.map((n) => {
      const d = n.data;
      const routes = out(n.id);
      let config: NodeConfig;
      switch (d.kind) {
        case "entry":
        case "rotator":
          config = {
            kind: d.kind,
            routes: routes.map((e) => ({ to: e.target, weight: e.data?.weight ?? 1 })),
          };
          break;
        case "condition":
          config = {
            kind: "condition",
            routes: routes
              .filter((e) => !e.data?.isDefault)
              .map((e) => ({ match: "all", rules: e.data?.rules ?? [], to: e.target })),
            defaultTo: routes.find((e) => e.data?.isDefault)?.target ?? "",
          };
          break;
        case "lander":
        case "offer":
          config = { kind: d.kind, pages: d.pages };
          break;
        case "external":
          config = { kind: "external", url: d.url };
          break;
      }
      return {
        id: n.id,
        name: d.name,
        config,
        position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
      };
    }),
    actions: nodes
      .filter((n) => n.data.kind === "lander" || n.data.kind === "offer")
      .flatMap((n) =>
        out(n.id).map((e) => ({
          from: n.id,
          number: e.data?.number ?? 1,
          to: e.target,
          triggers: e.data?.triggers ?? {},
        })),
      ),
  };
}

/** What would be saved, as one comparable string: the funnel is "changed" when this differs. */
export function fingerprint(name: string, nodes: FNode[], edges: FEdge[]): string {
  return fingerprintInput(toSaveInput("", undefined, name, nodes, edges));
}

export function fingerprintInput(input: SaveInput): string {
  return JSON.stringify({
    name: input.name,
    entryNodeId: input.entryNodeId,
    nodes: [...input.nodes].sort((a, b) => a.id.localeCompare(b.id)),
    actions: [...(input.actions ?? [])].sort((a, b) =>
      `${a.from}:${a.number}`.localeCompare(`${b.from}:${b.number}`),
    ),
  });
}

/**
 * The api names fields by their path in what was sent (`nodes[2].config.routes[0].weight: …`); the
 * person drew nodes, not arrays, so each path becomes the node's name (and the action's number).
 */
export function namePaths(message: string, input: SaveInput): string {
  const nodeName = (i: number) => {
    const node = input.nodes[i];
    if (!node) return `node ${i + 1}`;
    const name = (node.name ?? "").trim();
    return name === "" ? `the unnamed ${node.config.kind} node` : `node '${name}'`;
  };
  return message
    .replace(/\bnodes\[(\d+)\]\.config\.(routes|pages)\[(\d+)\]\.?([A-Za-z]*)/g, (_m, i, what, j, field) => {
      const thing = `${what === "pages" ? "page" : "route"} ${Number(j) + 1}`;
      return `${nodeName(Number(i))}, ${thing}${field ? ` ${field}` : ""}`;
    })
    .replace(/\bnodes\[(\d+)\](?:\.([A-Za-z.]+))?/g, (_m, i, field) =>
      field ? `${nodeName(Number(i))} ${field.replace(/^config\./, "")}` : nodeName(Number(i)),
    )
    .replace(/\bactions\[(\d+)\](?:\.([A-Za-z.]+))?/g, (_m, i, field) => {
      const action = input.actions?.[Number(i)];
      const from = action ? input.nodes.findIndex((n) => n.id === action.from) : -1;
      const head = action ? `action ${action.number} of ${nodeName(from)}` : `action ${Number(i) + 1}`;
      return field ? `${head} ${field.replace(/^triggers\./, "")}` : head;
    });
}

/** `input` with every node key passed through `map` (the save's answer maps new keys to ids). */
export function remapInput(input: SaveInput, map: (key: string) => string): SaveInput {
  const config = (c: NodeConfig): NodeConfig => {
    switch (c.kind) {
      case "entry":
      case "rotator":
        return { ...c, routes: c.routes.map((r) => ({ ...r, to: map(r.to) })) };
      case "condition":
        return {
          ...c,
          routes: c.routes.map((r) => ({ ...r, to: map(r.to) })),
          defaultTo: map(c.defaultTo),
        };
      default:
        return c;
    }
  };
  return {
    ...input,
    entryNodeId: map(input.entryNodeId),
    nodes: input.nodes.map((n) => ({ ...n, id: map(n.id), config: config(n.config) })),
    actions: (input.actions ?? []).map((a) => ({ ...a, from: map(a.from), to: map(a.to) })),
  };
}
