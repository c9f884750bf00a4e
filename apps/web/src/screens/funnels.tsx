import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { TRPCClientError } from "@trpc/client";
import {
  Background,
  type Connection,
  Controls,
  type Edge,
  Handle,
  type Node,
  type NodeProps,
  Position,
  ReactFlow,
  useEdgesState,
  useNodesState,
} from "@xyflow/react";
import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { Button, Card, type Column, ErrorText, Field, Select, Table } from "../components/ui.tsx";
import { dateTime } from "../format.ts";
import { errorMessage, type RouterInputs, type RouterOutputs, useTRPC } from "../trpc.ts";
import { useWorkspace } from "../workspace.tsx";

type Summary = RouterOutputs["funnels"]["list"]["items"][number];
type SaveInput = RouterInputs["funnels"]["save"];
type NodeConfig = SaveInput["nodes"][number]["config"];
type Kind = NodeConfig["kind"];
type Rule = Extract<NodeConfig, { kind: "condition" }>["routes"][number]["rules"][number];
type Triggers = NonNullable<NonNullable<SaveInput["actions"]>[number]["triggers"]>;

export function Funnels() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const list = useQuery(trpc.funnels.list.queryOptions({ workspaceId: ws.id }));
  const columns: Column<Summary>[] = [
    {
      key: "name",
      header: "Name",
      cell: (r) => (
        <Link className="text-blue-700 underline" to={`/funnels/${r.id}`}>
          {r.name}
        </Link>
      ),
      sort: (r) => r.name,
    },
    { key: "nodes", header: "Nodes", align: "right", cell: (r) => r.nodeCount, sort: (r) => r.nodeCount },
    { key: "version", header: "Version", align: "right", cell: (r) => r.version },
    { key: "updated", header: "Updated", cell: (r) => dateTime(r.updatedAt), sort: (r) => r.updatedAt },
  ];
  return (
    <Card
      title="Funnels"
      actions={
        <Link
          to="/funnels/new"
          className="rounded border border-blue-700 bg-blue-600 px-3 py-1.5 text-sm font-medium text-white"
        >
          New funnel
        </Link>
      }
    >
      <ErrorText error={list.error ? errorMessage(list.error) : null} />
      <Table
        caption="Funnels"
        rows={(list.data?.items ?? []).filter((f) => !f.archivedAt)}
        columns={columns}
        rowKey={(r) => r.id}
      />
    </Card>
  );
}

interface NodeData extends Record<string, unknown> {
  name: string;
  kind: Kind;
  pages: Array<{ pageId: string; weight: number }>;
  url: string;
  problem: string | null;
}
interface EdgeData extends Record<string, unknown> {
  /** Routes leave entry, rotator and condition nodes; actions leave landers and offers. */
  role: "route" | "action";
  weight: number;
  number: number;
  triggers: Triggers;
  rules: Rule[];
  isDefault: boolean;
}
type FNode = Node<NodeData, "funnel">;
type FEdge = Edge<EdgeData>;

const KIND_LABEL: Record<Kind, string> = {
  entry: "Traffic entry",
  rotator: "Rotator",
  condition: "Condition",
  lander: "Lander",
  offer: "Offer",
  external: "External URL",
};
const ROUTING: Kind[] = ["entry", "rotator", "condition"];

function FunnelNodeView({ data, selected }: NodeProps<FNode>) {
  return (
    <div
      className={`min-w-36 rounded border bg-white px-3 py-2 text-xs shadow-sm ${
        data.problem ? "border-red-500" : selected ? "border-blue-600" : "border-slate-300"
      }`}
    >
      {data.kind !== "entry" ? <Handle type="target" position={Position.Left} /> : null}
      <div className="font-semibold">{data.name || KIND_LABEL[data.kind]}</div>
      <div className="text-slate-500">{KIND_LABEL[data.kind]}</div>
      {data.problem ? (
        <div role="alert" className="mt-1 max-w-48 text-red-700">
          {data.problem}
        </div>
      ) : null}
      {data.kind !== "external" ? <Handle type="source" position={Position.Right} /> : null}
    </div>
  );
}
const nodeTypes = { funnel: FunnelNodeView };

let keySeq = 0;
const newKey = () => `new-${Date.now().toString(36)}-${keySeq++}`;

function edgeLabel(d: EdgeData): string {
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

function toFlow(funnel: RouterOutputs["funnels"]["get"]): { nodes: FNode[]; edges: FEdge[] } {
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

function toSaveInput(
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

/** The visual funnel builder: nodes are pages and routers, edges are routes and numbered actions. */
export function FunnelBuilder() {
  const { funnelId: param } = useParams();
  const funnelId = param === "new" ? undefined : param;
  const trpc = useTRPC();
  const ws = useWorkspace();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const funnel = useQuery({
    ...trpc.funnels.get.queryOptions({ workspaceId: ws.id, funnelId: funnelId ?? "" }),
    enabled: !!funnelId,
  });
  const landers = useQuery(trpc.landers.list.queryOptions({ workspaceId: ws.id }));
  const offers = useQuery(trpc.offers.list.queryOptions({ workspaceId: ws.id }));
  const eventTypes = useQuery(trpc.eventTypes.list.queryOptions({ workspaceId: ws.id }));
  const [name, setName] = useState("New funnel");
  const [nodes, setNodes, onNodesChange] = useNodesState<FNode>([]);
  const [edges, setEdges, onEdgesChange] = useEdgesState<FEdge>([]);
  const [selectedNode, setSelectedNode] = useState<string | null>(null);
  const [selectedEdge, setSelectedEdge] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<string | null>(null);

  useEffect(() => {
    if (funnelId && funnel.data) {
      const flow = toFlow(funnel.data);
      setName(funnel.data.name);
      setNodes(flow.nodes);
      setEdges(flow.edges);
    } else if (!funnelId) {
      setNodes([
        {
          id: newKey(),
          type: "funnel",
          position: { x: 0, y: 120 },
          data: { name: "Traffic entry", kind: "entry", pages: [], url: "", problem: null },
        },
      ]);
      setEdges([]);
    }
  }, [funnelId, funnel.data, setNodes, setEdges]);

  const kindOf = (id: string) => nodes.find((n) => n.id === id)?.data.kind;
  const relabel = (list: FEdge[]) => list.map((e) => ({ ...e, label: e.data ? edgeLabel(e.data) : "" }));

  const onConnect = (c: Connection) => {
    if (!c.source || !c.target || c.source === c.target) return;
    const kind = kindOf(c.source);
    if (!kind || kind === "external") return;
    const role = ROUTING.includes(kind) ? "route" : "action";
    const siblings = edges.filter((e) => e.source === c.source);
    const number = role === "action" ? Math.max(0, ...siblings.map((e) => e.data?.number ?? 0)) + 1 : 0;
    const isDefault = kind === "condition" && !siblings.some((e) => e.data?.isDefault);
    const edge: FEdge = {
      id: newKey(),
      source: c.source,
      target: c.target,
      data: { role, weight: 1, number, triggers: {}, rules: [], isDefault },
    };
    setEdges(relabel([...edges, edge]));
  };

  const addNode = (kind: Kind) => {
    const id = newKey();
    setNodes([
      ...nodes.map((n) => ({ ...n, selected: false })),
      {
        id,
        type: "funnel",
        position: {
          x: 220 * (nodes.length % 5),
          y: 60 + 90 * Math.floor(nodes.length / 5) + (nodes.length % 2) * 40,
        },
        data: { name: KIND_LABEL[kind], kind, pages: [], url: "", problem: null },
        selected: true,
      },
    ]);
    setSelectedNode(id);
    setSelectedEdge(null);
  };
  const updateNode = (id: string, patch: Partial<NodeData>) =>
    setNodes(nodes.map((n) => (n.id === id ? { ...n, data: { ...n.data, ...patch, problem: null } } : n)));
  const updateEdge = (id: string, patch: Partial<EdgeData>) =>
    setEdges(
      relabel(edges.map((e) => (e.id === id && e.data ? { ...e, data: { ...e.data, ...patch } } : e))),
    );

  const save = useMutation(
    trpc.funnels.save.mutationOptions({
      onSuccess: async (saved) => {
        setSaveError(null);
        await queryClient.invalidateQueries();
        if (!funnelId) navigate(`/funnels/${saved.funnelId}`, { replace: true });
      },
      onError: (error) => {
        setSaveError(errorMessage(error));
        const details =
          error instanceof TRPCClientError
            ? (error.data as { details?: unknown } | undefined)?.details
            : undefined;
        const problems = Array.isArray(details)
          ? (details as Array<{ nodeId?: string; message: string }>)
          : [];
        setNodes((current) =>
          current.map((n) => {
            const mine = problems.filter((p) => p.nodeId === n.id).map((p) => p.message);
            return { ...n, data: { ...n.data, problem: mine.length ? mine.join("; ") : null } };
          }),
        );
      },
    }),
  );

  const node = nodes.find((n) => n.id === selectedNode) ?? null;
  const edge = edges.find((e) => e.id === selectedEdge) ?? null;
  const pageOptions = useMemo(() => {
    const kind = node?.data.kind;
    const items =
      kind === "lander" ? (landers.data?.items ?? []) : kind === "offer" ? (offers.data?.items ?? []) : [];
    return items.filter((i) => !i.archivedAt).map((i) => ({ value: i.id, label: i.name }));
  }, [node?.data.kind, landers.data, offers.data]);

  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-end gap-2">
        <Field label="Funnel name" value={name} onChange={(e) => setName(e.target.value)} />
        {(["rotator", "condition", "lander", "offer", "external"] as const).map((k) => (
          <Button key={k} onClick={() => addNode(k)}>
            + {KIND_LABEL[k]}
          </Button>
        ))}
        <Button
          variant="primary"
          disabled={save.isPending}
          onClick={() => save.mutate(toSaveInput(ws.id, funnelId, name, nodes, edges))}
        >
          Save funnel
        </Button>
        {funnelId ? (
          <Link className="text-sm text-blue-700 underline" to={`/tracking-codes?funnel=${funnelId}`}>
            Tracking codes
          </Link>
        ) : null}
      </div>
      <ErrorText error={saveError ?? (funnel.error ? errorMessage(funnel.error) : null)} />
      {save.isSuccess && !saveError ? <p className="text-sm text-green-700">Saved.</p> : null}
      <div className="flex flex-col gap-3 lg:flex-row">
        <section
          className="h-[520px] flex-1 rounded border border-slate-200 bg-white"
          aria-label="Funnel graph"
        >
          <ReactFlow<FNode, FEdge>
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onConnect={onConnect}
            onNodeClick={(_, n) => {
              setSelectedNode(n.id);
              setSelectedEdge(null);
            }}
            onEdgeClick={(_, e) => {
              setSelectedEdge(e.id);
              setSelectedNode(null);
            }}
            onEdgeContextMenu={(event, e) => {
              event.preventDefault();
              setSelectedEdge(e.id);
              setSelectedNode(null);
            }}
            fitView={!!funnelId}
            fitViewOptions={{ maxZoom: 1 }}
            defaultViewport={{ x: 40, y: 40, zoom: 1 }}
            deleteKeyCode={["Delete", "Backspace"]}
          >
            <Background />
            <Controls />
          </ReactFlow>
        </section>
        <aside
          className="w-full rounded border border-slate-200 bg-white p-3 text-sm lg:w-80"
          aria-label="Inspector"
        >
          {node ? (
            <div className="flex flex-col gap-3">
              <h3 className="font-semibold">{KIND_LABEL[node.data.kind]}</h3>
              <Field
                label="Node name"
                value={node.data.name}
                onChange={(e) => updateNode(node.id, { name: e.target.value })}
              />
              {node.data.kind === "external" ? (
                <Field
                  label="Redirect URL"
                  value={node.data.url}
                  onChange={(e) => updateNode(node.id, { url: e.target.value })}
                />
              ) : null}
              {node.data.kind === "lander" || node.data.kind === "offer" ? (
                <div className="flex flex-col gap-2">
                  {node.data.pages.map((p, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: rows are positions edited in place; a page may repeat
                    <div key={`${p.pageId}-${i}`} className="flex items-end gap-2">
                      <Select
                        label={`Page ${i + 1}`}
                        className="flex-1"
                        value={p.pageId}
                        options={pageOptions}
                        onChange={(e) =>
                          updateNode(node.id, {
                            pages: node.data.pages.map((x, j) =>
                              j === i ? { ...x, pageId: e.target.value } : x,
                            ),
                          })
                        }
                      />
                      <Field
                        label="Weight"
                        type="number"
                        min={0}
                        className="w-20"
                        value={p.weight}
                        onChange={(e) =>
                          updateNode(node.id, {
                            pages: node.data.pages.map((x, j) =>
                              j === i ? { ...x, weight: Number(e.target.value) } : x,
                            ),
                          })
                        }
                      />
                    </div>
                  ))}
                  <Button
                    disabled={pageOptions.length === 0}
                    onClick={() =>
                      updateNode(node.id, {
                        pages: [...node.data.pages, { pageId: pageOptions[0]?.value ?? "", weight: 1 }],
                      })
                    }
                  >
                    Add {node.data.kind}
                  </Button>
                  {pageOptions.length === 0 ? (
                    <p className="text-xs text-slate-500">Create a {node.data.kind} first.</p>
                  ) : null}
                </div>
              ) : null}
              <p className="text-xs text-slate-500">
                Drag from the right handle to another node to connect it. Delete removes it.
              </p>
            </div>
          ) : edge?.data ? (
            <EdgeInspector
              edge={edge as FEdge & { data: EdgeData }}
              eventTypes={(eventTypes.data?.items ?? []).filter((e) => !e.archivedAt)}
              onChange={(patch) => updateEdge(edge.id, patch)}
              sourceKind={kindOf(edge.source)}
            />
          ) : (
            <p className="text-slate-500">
              Select a node or a connection. Right-click an action to set its triggers.
            </p>
          )}
        </aside>
      </div>
    </div>
  );
}

/**
 * A trigger's repeat switch. Off (the default): once per visitor session and action, a repeat (a
 * second click, a back-button return) updating the one conversion; on: every click counts.
 */
function EveryTime({
  label,
  checked,
  onChange,
}: {
  label: string;
  checked: boolean;
  onChange: (everyTime: boolean) => void;
}) {
  return (
    <label
      className="ml-6 flex items-center gap-2 text-xs text-slate-600"
      title="Off: once per visitor session and action; a repeat updates, never doubles"
    >
      <input
        type="checkbox"
        aria-label={`${label}: count every time`}
        checked={checked}
        onChange={(e) => onChange(e.target.checked)}
      />
      Count every time (not once per visitor)
    </label>
  );
}

function EdgeInspector({
  edge,
  eventTypes,
  onChange,
  sourceKind,
}: {
  edge: FEdge & { data: EdgeData };
  eventTypes: Array<{ id: string; name: string }>;
  onChange: (patch: Partial<EdgeData>) => void;
  sourceKind: Kind | undefined;
}) {
  const d = edge.data;
  if (d.role === "action") {
    const events = d.triggers.events ?? [];
    return (
      <div className="flex flex-col gap-3">
        <h3 className="font-semibold">Action {d.number} — triggers</h3>
        <Field
          label="Action number"
          type="number"
          min={1}
          value={d.number}
          onChange={(e) => onChange({ number: Number(e.target.value) })}
        />
        <label className="flex items-center gap-2">
          <input
            type="checkbox"
            checked={!!d.triggers.conversion}
            onChange={(e) =>
              onChange({
                triggers: { ...d.triggers, conversion: e.target.checked ? { revenue: null } : null },
              })
            }
          />
          Trigger a conversion
        </label>
        {d.triggers.conversion ? (
          <>
            <Field
              label="Conversion revenue (empty: the page's payout)"
              inputMode="decimal"
              value={d.triggers.conversion.revenue ?? ""}
              onChange={(e) =>
                onChange({
                  triggers: {
                    ...d.triggers,
                    conversion: {
                      ...d.triggers.conversion,
                      revenue: e.target.value === "" ? null : e.target.value,
                    },
                  },
                })
              }
            />
            <EveryTime
              label="Conversion"
              checked={d.triggers.conversion.everyTime === true}
              onChange={(everyTime) =>
                onChange({ triggers: { ...d.triggers, conversion: { ...d.triggers.conversion, everyTime } } })
              }
            />
          </>
        ) : null}
        <fieldset className="flex flex-col gap-1">
          <legend className="font-medium">Custom events</legend>
          {eventTypes.length === 0 ? (
            <p className="text-xs text-slate-500">No custom events defined.</p>
          ) : null}
          {eventTypes.map((t) => {
            const chosen = events.find((e) => e.eventTypeId === t.id);
            return (
              <div key={t.id} className="flex flex-col">
                <label className="flex items-center gap-2">
                  <input
                    type="checkbox"
                    checked={chosen !== undefined}
                    onChange={(e) =>
                      onChange({
                        triggers: {
                          ...d.triggers,
                          events: e.target.checked
                            ? [...events, { eventTypeId: t.id }]
                            : events.filter((x) => x.eventTypeId !== t.id),
                        },
                      })
                    }
                  />
                  {t.name}
                </label>
                {chosen ? (
                  <EveryTime
                    label={t.name}
                    checked={chosen.everyTime === true}
                    onChange={(everyTime) =>
                      onChange({
                        triggers: {
                          ...d.triggers,
                          events: events.map((x) => (x.eventTypeId === t.id ? { ...x, everyTime } : x)),
                        },
                      })
                    }
                  />
                ) : null}
              </div>
            );
          })}
        </fieldset>
      </div>
    );
  }
  if (sourceKind === "condition") {
    return (
      <div className="flex flex-col gap-3">
        <h3 className="font-semibold">Condition route</h3>
        <label className="flex items-center gap-2">
          <input
            type="checkbox"
            checked={d.isDefault}
            onChange={(e) => onChange({ isDefault: e.target.checked })}
          />
          Default route (when no rule matches)
        </label>
        {!d.isDefault
          ? d.rules.map((r, i) => (
              <div
                // biome-ignore lint/suspicious/noArrayIndexKey: rules are positions edited in place
                key={`${r.field}-${i}`}
                className="flex flex-col gap-1 rounded border border-slate-200 p-2"
              >
                <Select
                  label="Field"
                  value={r.field}
                  options={[
                    "country",
                    "device",
                    "os",
                    "browser",
                    "language",
                    "ip",
                    "weekday",
                    "hour",
                    "query",
                  ].map((f) => ({ value: f, label: f }))}
                  onChange={(e) =>
                    onChange({
                      rules: d.rules.map((x, j) =>
                        j === i ? { ...x, field: e.target.value as Rule["field"] } : x,
                      ),
                    })
                  }
                />
                <Select
                  label="Operator"
                  value={r.op}
                  options={[
                    { value: "in", label: "is one of" },
                    { value: "not_in", label: "is not one of" },
                  ]}
                  onChange={(e) =>
                    onChange({
                      rules: d.rules.map((x, j) =>
                        j === i ? { ...x, op: e.target.value as Rule["op"] } : x,
                      ),
                    })
                  }
                />
                <Field
                  label="Values (comma-separated)"
                  value={r.values.join(",")}
                  onChange={(e) =>
                    onChange({
                      rules: d.rules.map((x, j) =>
                        j === i
                          ? {
                              ...x,
                              values: e.target.value
                                .split(",")
                                .map((v) => v.trim())
                                .filter(Boolean),
                            }
                          : x,
                      ),
                    })
                  }
                />
              </div>
            ))
          : null}
        {!d.isDefault ? (
          <Button
            onClick={() => onChange({ rules: [...d.rules, { field: "country", op: "in", values: [] }] })}
          >
            Add rule
          </Button>
        ) : null}
      </div>
    );
  }
  return (
    <div className="flex flex-col gap-3">
      <h3 className="font-semibold">Route</h3>
      <Field
        label="Weight"
        type="number"
        min={0}
        value={d.weight}
        onChange={(e) => onChange({ weight: Number(e.target.value) })}
      />
    </div>
  );
}
