import { RULE_FIELDS } from "@hitrail/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { TRPCClientError } from "@trpc/client";
import {
  Background,
  type Connection,
  Controls,
  Handle,
  type NodeProps,
  Position,
  ReactFlow,
  useEdgesState,
  useNodesState,
} from "@xyflow/react";
import { createContext, useContext, useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { Button, Check, ErrorText, Field, Select } from "../../components/ui.tsx";
import { lastDays, money } from "../../format.ts";
import { errorMessage, labelFields, type RouterOutputs, useTRPC } from "../../trpc.ts";
import { useWorkspace } from "../../workspace.tsx";
import {
  type EdgeData,
  edgeLabel,
  type FEdge,
  type FNode,
  fingerprint,
  fingerprintInput,
  KIND_LABEL,
  type Kind,
  type NodeData,
  namePaths,
  newKey,
  ROUTING,
  type Rule,
  remapInput,
  toFlow,
  toSaveInput,
} from "./graph.ts";
import { useUnsavedChangesPrompt } from "./unsaved.ts";

type Metrics = RouterOutputs["funnels"]["stats"]["nodes"][string];

/** What nodes draw beside their own data: page names by id, and the numbers when stats are on. */
interface BuilderView {
  pageNames: ReadonlyMap<string, string>;
  stats: Record<string, Metrics> | null;
  currency: string;
}
const ViewContext = createContext<BuilderView>({ pageNames: new Map(), stats: null, currency: "USD" });

function MetricsLine({ m, currency }: { m: Metrics | undefined; currency: string }) {
  const v = m ?? { visits: 0, conversions: 0, revenue: "0" };
  return (
    <div className="mt-1 rounded bg-slate-100 px-1.5 py-0.5 text-[11px] tabular-nums text-slate-700">
      {v.visits} visits · {v.conversions} conv · {money(v.revenue, currency)}
    </div>
  );
}

function FunnelNodeView({ id, data, selected }: NodeProps<FNode>) {
  const view = useContext(ViewContext);
  const pages = data.pages.map((p) => view.pageNames.get(p.pageId) ?? "(archived or deleted page)");
  const title = data.name || KIND_LABEL[data.kind];
  return (
    <div
      className={`min-w-36 max-w-60 rounded border bg-white px-3 py-2 text-xs shadow-sm ${
        data.problem ? "border-red-500" : selected ? "border-blue-600" : "border-slate-300"
      }`}
    >
      {data.kind !== "entry" ? <Handle type="target" position={Position.Left} /> : null}
      <div className="font-semibold">{title}</div>
      <div className="text-slate-500">{KIND_LABEL[data.kind]}</div>
      {data.kind === "lander" || data.kind === "offer" ? (
        pages.length === 0 ? (
          <div className="text-amber-700">no {data.kind} chosen</div>
        ) : (
          <ul className="mt-0.5 text-slate-800">
            {pages.map((name, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: a page may repeat; rows are positions
              <li key={i} className="truncate" title={name}>
                {name}
                {data.pages.length > 1 ? ` (${data.pages[i]?.weight})` : ""}
              </li>
            ))}
          </ul>
        )
      ) : null}
      {data.kind === "external" && data.url ? (
        <div className="truncate text-slate-800" title={data.url}>
          {data.url}
        </div>
      ) : null}
      {view.stats && data.kind !== "entry" ? (
        <MetricsLine m={view.stats[id]} currency={view.currency} />
      ) : null}
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

const BUILDER_LABELS = new Map([["name", "Funnel name"]]);

const relabel = (list: FEdge[]) => list.map((e) => ({ ...e, label: e.data ? edgeLabel(e.data) : "" }));

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
  // Archived pages too: a node may still name one, and it should say which.
  const landers = useQuery(trpc.landers.list.queryOptions({ workspaceId: ws.id, includeArchived: true }));
  const offers = useQuery(trpc.offers.list.queryOptions({ workspaceId: ws.id, includeArchived: true }));
  const eventTypes = useQuery(trpc.eventTypes.list.queryOptions({ workspaceId: ws.id }));
  const [name, setName] = useState("New funnel");
  const [nodes, setNodes, onNodesChange] = useNodesState<FNode>([]);
  const [edges, setEdges, onEdgesChange] = useEdgesState<FEdge>([]);
  const [selectedNode, setSelectedNode] = useState<string | null>(null);
  const [selectedEdge, setSelectedEdge] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<string | null>(null);
  /** What the last load or save holds, to tell whether anything changed since. */
  const [baseline, setBaseline] = useState<string | null>(null);
  const loadedVersion = useRef<string | null>(null);
  const [showStats, setShowStats] = useState(false);
  const [range, setRange] = useState(() => lastDays(1, ws.timeZone));
  const stats = useQuery({
    ...trpc.funnels.stats.queryOptions({
      workspaceId: ws.id,
      funnelId: funnelId ?? "",
      from: range.from,
      to: range.to,
    }),
    enabled: !!funnelId && showStats && range.from !== "" && range.to !== "",
  });

  useEffect(() => {
    if (funnelId && funnel.data) {
      // A refetch of the same version (window focus, another screen's invalidation) must not throw
      // away edits in progress; a new version (our own save) replaces the drawing.
      const version = `${funnel.data.id}@${funnel.data.version}`;
      if (loadedVersion.current === version) return;
      loadedVersion.current = version;
      const flow = toFlow(funnel.data);
      setName(funnel.data.name);
      setNodes(flow.nodes);
      setEdges(flow.edges);
      setBaseline(fingerprint(funnel.data.name, flow.nodes, flow.edges));
    } else if (!funnelId) {
      loadedVersion.current = null;
      const start: FNode[] = [
        {
          id: newKey(),
          type: "funnel",
          position: { x: 0, y: 120 },
          data: { name: "Traffic entry", kind: "entry", pages: [], url: "", problem: null },
        },
      ];
      setName("New funnel");
      setNodes(start);
      setEdges([]);
      setBaseline(fingerprint("New funnel", start, []));
    }
  }, [funnelId, funnel.data, setNodes, setEdges]);

  const dirty = baseline !== null && fingerprint(name, nodes, edges) !== baseline;
  useUnsavedChangesPrompt(dirty);

  const pageNames = useMemo(() => {
    const names = new Map<string, string>();
    for (const l of landers.data?.items ?? [])
      names.set(l.id, l.archivedAt ? `${l.name} (archived)` : l.name);
    for (const o of offers.data?.items ?? []) names.set(o.id, o.archivedAt ? `${o.name} (archived)` : o.name);
    return names;
  }, [landers.data, offers.data]);
  const view = useMemo<BuilderView>(
    () => ({ pageNames, stats: showStats ? (stats.data?.nodes ?? {}) : null, currency: ws.currency }),
    [pageNames, showStats, stats.data, ws.currency],
  );

  const kindOf = (id: string) => nodes.find((n) => n.id === id)?.data.kind;
  const nodeName = (id: string) => {
    const n = nodes.find((x) => x.id === id);
    return n ? n.data.name || KIND_LABEL[n.data.kind] : "?";
  };

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
      onSuccess: async (saved, sent) => {
        setSaveError(null);
        // New nodes get their ids here, from the answer, instead of from a reload: a reload arriving
        // later would throw away whatever was drawn meanwhile. The reload of this version is skipped.
        const map = (key: string) => saved.nodeIds[key] ?? key;
        setNodes((current) => current.map((n) => ({ ...n, id: map(n.id) })));
        setEdges((current) => current.map((e) => ({ ...e, source: map(e.source), target: map(e.target) })));
        setSelectedNode((id) => (id === null ? null : map(id)));
        loadedVersion.current = `${saved.funnelId}@${saved.version}`;
        setBaseline(fingerprintInput(remapInput(sent, map)));
        await queryClient.invalidateQueries();
        if (!funnelId) navigate(`/funnels/${saved.funnelId}`, { replace: true });
      },
      onError: (error, sent) => {
        // Paths into what was sent become node names first; the rest get the builder's labels.
        setSaveError(labelFields(namePaths(error.message, sent), BUILDER_LABELS));
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

  const restore = useMutation(
    trpc.funnels.archive.mutationOptions({ onSuccess: () => queryClient.invalidateQueries() }),
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
        {dirty ? <span className="self-center text-sm text-amber-700">Unsaved changes</span> : null}
        {funnelId ? (
          <Link
            className="self-center text-sm text-blue-700 underline"
            to={`/tracking-codes?funnel=${funnelId}`}
          >
            Tracking codes
          </Link>
        ) : null}
      </div>
      {funnelId ? (
        <div className="flex flex-wrap items-end gap-2 text-sm">
          <Check label="Show visits, conversions and revenue" checked={showStats} onChange={setShowStats} />
          {showStats ? (
            <>
              <Field
                label="From"
                type="date"
                value={range.from}
                onChange={(e) => setRange({ ...range, from: e.target.value })}
              />
              <Field
                label="To"
                type="date"
                value={range.to}
                onChange={(e) => setRange({ ...range, to: e.target.value })}
              />
              <span className="self-center text-xs text-slate-500">
                dates in {ws.timeZone}
                {stats.isFetching ? " · loading…" : ""}
              </span>
              <ErrorText error={stats.error ? errorMessage(stats.error) : null} />
            </>
          ) : null}
        </div>
      ) : null}
      {funnel.data?.archivedAt ? (
        <p
          role="status"
          className="flex items-center gap-2 rounded border border-amber-300 bg-amber-50 px-3 py-2 text-sm"
        >
          This funnel is archived: its links do not route.
          <Button
            disabled={restore.isPending}
            onClick={() => restore.mutate({ workspaceId: ws.id, funnelId: funnel.data.id, archived: false })}
          >
            Restore
          </Button>
        </p>
      ) : null}
      <ErrorText error={saveError ?? (funnel.error ? errorMessage(funnel.error) : null)} />
      {save.isSuccess && !saveError && !dirty ? <p className="text-sm text-green-700">Saved.</p> : null}
      <div className="flex flex-col gap-3 lg:flex-row">
        <section
          className="h-[520px] flex-1 rounded border border-slate-200 bg-white"
          aria-label="Funnel graph"
        >
          <ViewContext.Provider value={view}>
            <ReactFlow<FNode, FEdge>
              nodes={nodes}
              edges={
                showStats
                  ? edges.map((e) => ({
                      ...e,
                      label: `${e.data ? edgeLabel(e.data) : ""} · ${view.stats?.[e.target]?.visits ?? 0} visits`,
                    }))
                  : edges
              }
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
          </ViewContext.Provider>
        </section>
        <aside
          className="w-full rounded border border-slate-200 bg-white p-3 text-sm lg:w-80"
          aria-label="Inspector"
        >
          {node ? (
            <div className="flex flex-col gap-3">
              <h3 className="font-semibold">{KIND_LABEL[node.data.kind]}</h3>
              {showStats && node.data.kind !== "entry" ? (
                <MetricsLine m={view.stats?.[node.id]} currency={ws.currency} />
              ) : null}
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
                        options={
                          pageOptions.some((o) => o.value === p.pageId)
                            ? pageOptions
                            : [
                                { value: p.pageId, label: pageNames.get(p.pageId) ?? "(deleted page)" },
                                ...pageOptions,
                              ]
                        }
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
                      <Button
                        aria-label={`Remove page ${i + 1}`}
                        onClick={() =>
                          updateNode(node.id, { pages: node.data.pages.filter((_, j) => j !== i) })
                        }
                      >
                        ×
                      </Button>
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
            <div className="flex flex-col gap-3">
              <p className="text-xs text-slate-600">
                {nodeName(edge.source)} → {nodeName(edge.target)}
              </p>
              {showStats ? (
                <div>
                  <p className="text-xs text-slate-500">
                    Arrivals at {nodeName(edge.target)} (by any way in):
                  </p>
                  <MetricsLine m={view.stats?.[edge.target]} currency={ws.currency} />
                </div>
              ) : null}
              <EdgeInspector
                edge={edge as FEdge & { data: EdgeData }}
                eventTypes={(eventTypes.data?.items ?? []).filter((e) => !e.archivedAt)}
                onChange={(patch) => updateEdge(edge.id, patch)}
                sourceKind={kindOf(edge.source)}
              />
            </div>
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
                  options={RULE_FIELDS.map((f) => ({ value: f, label: f }))}
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
