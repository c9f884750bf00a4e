import {
  DEFAULT_METRIC_KEYS,
  eventColumns,
  type GridModel,
  gridCells,
  gridCsv,
  gridHeader,
  localDateOf,
  METRIC_COLUMNS,
  type MetricColumn,
  pickColumns,
} from "@hitrail/core";
import { useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { type Series, TimeChart } from "../components/chart.tsx";
import { DateRangeFields, useDateRange } from "../components/date-range.tsx";
import { Button, Card, ErrorText, Select } from "../components/ui.tsx";
import { count, money, percent } from "../format.ts";
import {
  costCellIndex,
  costUpdateNote,
  type GridSort,
  type LevelRow,
  type ParentKey,
  pathKey,
  visibleLines,
} from "../report-grid.ts";
import { errorMessage, type RouterInputs, useTRPC } from "../trpc.ts";
import { useWorkspace } from "../workspace.tsx";

type RunInput = RouterInputs["reports"]["run"];
type Dimension = NonNullable<RunInput["groupBy"]>[number];

const DIMENSIONS: ReadonlyArray<{ value: string; label: string }> = [
  { value: "trafficSource", label: "Traffic source" },
  { value: "funnel", label: "Funnel" },
  { value: "node", label: "Node" },
  { value: "lander", label: "Lander" },
  { value: "offer", label: "Offer" },
  { value: "country", label: "Country" },
  { value: "device", label: "Device" },
  { value: "os", label: "OS" },
  { value: "browser", label: "Browser" },
  { value: "day", label: "Day" },
  { value: "hour", label: "Hour" },
];
const NONE = "";
/** How often a grid whose range includes today asks again (visits arrive within seconds). */
const LIVE_REFRESH_MS = 10_000;

function dimensionLabel(d: string): string {
  if (d.startsWith("field:")) return d.slice("field:".length);
  return DIMENSIONS.find((x) => x.value === d)?.label ?? d;
}

function formatCell(column: MetricColumn | undefined, value: number | string | null, currency: string) {
  if (value === null) return "—";
  if (!column) return percent(typeof value === "number" ? value : Number(value));
  if (column.kind === "money") return money(String(value), currency);
  if (column.kind === "ratio") return percent(Number(value));
  return count(Number(value));
}

/**
 * The report a media buyer lives in: a date preset in the workspace's zone, up to three levels of
 * grouping to drill into row by row, sortable columns the user picks (remembered per user), the
 * previous period beside, bots left out unless asked, and an export of exactly what is on screen.
 */
export function Reports() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const queryClient = useQueryClient();
  const dates = useDateRange(ws.timeZone);
  const { range } = dates;
  const [levels, setLevels] = useState<string[]>(["trafficSource", NONE, NONE]);
  const [includeBots, setIncludeBots] = useState(false);
  const [compare, setCompare] = useState(false);
  const [creditAt, setCreditAt] = useState<"visit" | "conversion">("visit");
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [sort, setSort] = useState<GridSort | null>(null);
  const [picking, setPicking] = useState(false);

  const fields = useQuery(trpc.reports.trackingFields.queryOptions({ workspaceId: ws.id }));
  const prefs = useQuery(trpc.reports.preferences.queryOptions({ workspaceId: ws.id }));
  const savePrefs = useMutation(
    trpc.reports.savePreferences.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries(trpc.reports.preferences.pathFilter()),
    }),
  );

  const chosen = levels.filter((l) => l !== NONE);
  const options = [
    ...DIMENSIONS,
    ...(fields.data ?? []).map((f) => ({
      value: `field:${f.name}`,
      label: `Tracking field: ${f.name} (${f.sources.map((s) => `${s.name} ?${s.param}=`).join(", ")})`,
    })),
  ];
  const setLevel = (i: number, value: string) => {
    const next = [...levels];
    next[i] = value;
    // A level left empty ends the drill-down there.
    if (value === NONE) for (let j = i + 1; j < next.length; j++) next[j] = NONE;
    setLevels(next);
    setExpanded(new Set());
  };

  const base = {
    workspaceId: ws.id,
    from: range.from,
    to: range.to,
    includeBots,
    compare,
    creditAt,
  } satisfies Partial<RunInput>;
  // One query per node of the tree on screen: the root, and every expanded row (its parents' keys
  // as filters, the next level as the grouping).
  const nodes: ParentKey[][] = [
    [],
    ...[...expanded].map((k) =>
      (JSON.parse(k) as Array<[string, string | null]>).map(([dimension, value]) => ({ dimension, value })),
    ),
  ].filter((p) => p.length < chosen.length);
  // A range that includes today is live: visits reach the rollups within seconds, so the grid asks
  // again while it is on screen. Past ranges change only with late conversions: Refresh.
  const live = range.to >= localDateOf(new Date(), ws.timeZone);
  const results = useQueries({
    queries: nodes.map((parents) => ({
      ...trpc.reports.run.queryOptions({
        ...base,
        groupBy: [chosen[parents.length] as Dimension],
        filters: parents.map((p) => ({ dimension: p.dimension as Dimension, value: p.value })),
      }),
      refetchInterval: live ? LIVE_REFRESH_MS : false,
    })),
  });
  const root = results[0];
  const report = root?.data;
  const loaded = new Map<string, LevelRow[]>();
  nodes.forEach((parents, i) => {
    const data = results[i]?.data;
    if (data) loaded.set(pathKey(parents), data.rows);
  });
  const error = results.find((r) => r.error)?.error;

  const allColumns = useMemo(
    () => [...METRIC_COLUMNS, ...eventColumns(report?.eventTypes ?? [])],
    [report?.eventTypes],
  );
  const columnKeys = prefs.data?.columns ?? [...DEFAULT_METRIC_KEYS];
  const columns = pickColumns(allColumns, columnKeys);
  const lines = visibleLines({ levels: chosen, results: loaded, expanded, sort, columns });
  const model: GridModel | null = report
    ? {
        levels: chosen.map(dimensionLabel),
        columns,
        lines,
        totals: report.totals,
        previousTotals: report.previousTotals,
        compare,
      }
    : null;

  const toggle = (key: string) => {
    const next = new Set(expanded);
    if (next.has(key)) {
      // Closing a row closes everything under it.
      for (const k of next) if (k.startsWith(key.slice(0, -1))) next.delete(k);
    } else next.add(key);
    setExpanded(next);
  };
  const toggleColumn = (key: string) => {
    const next = columnKeys.includes(key) ? columnKeys.filter((k) => k !== key) : [...columnKeys, key];
    if (next.length > 0) savePrefs.mutate({ workspaceId: ws.id, columns: next });
  };
  const moveColumn = (key: string, by: -1 | 1) => {
    const i = columnKeys.indexOf(key);
    const j = i + by;
    if (i < 0 || j < 0 || j >= columnKeys.length) return;
    const next = [...columnKeys];
    [next[i], next[j]] = [next[j] as string, next[i] as string];
    savePrefs.mutate({ workspaceId: ws.id, columns: next });
  };
  const sortBy = (key: string) =>
    setSort((s) => (s?.key === key ? { key, dir: s.dir === 1 ? -1 : 1 } : { key, dir: -1 }));

  /** The grid on screen, as a file: the same header, lines and totals. */
  const exportCsv = () => {
    if (!model) return;
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([gridCsv(model)], { type: "text/csv;charset=utf-8" }));
    a.download = `hitrail-report-${range.from}-${range.to}-by-${chosen.join("-").replace(/[^A-Za-z0-9_.-]/g, "_")}.csv`;
    a.click();
    URL.revokeObjectURL(a.href);
  };

  const days = (Date.parse(range.to) - Date.parse(range.from)) / 86_400_000;
  const timeDimension: Dimension = days < 2 ? "hour" : "day";
  const series = useQuery(
    trpc.reports.run.queryOptions({ ...base, compare: false, groupBy: [timeDimension] }),
  );
  const chart = useMemo(() => {
    const points = [...(series.data?.rows ?? [])].sort((a, b) =>
      String(a.key[timeDimension]).localeCompare(String(b.key[timeDimension])),
    );
    const x = points.map((p) => {
      const key = String(p.key[timeDimension]);
      return Date.parse(timeDimension === "day" ? `${key}T00:00:00Z` : `${key}:00Z`) / 1000;
    });
    const s: Series[] = [
      { label: "Visits", color: "#2563eb", values: points.map((p) => p.metrics.visits) },
      {
        label: "Conversions",
        color: "#16a34a",
        values: points.map((p) => p.metrics.direct?.conversions ?? 0),
      },
      {
        label: "Revenue",
        color: "#9333ea",
        money: true,
        values: points.map((p) => Number(p.metrics.direct?.revenue ?? 0)),
      },
      {
        label: "Profit",
        color: "#ea580c",
        money: true,
        values: points.map((p) => Number(p.metrics.profit ?? 0)),
      },
    ];
    const span: [number, number] = [
      Date.parse(`${range.from}T00:00:00Z`) / 1000,
      Date.parse(`${range.to}T23:59:59Z`) / 1000,
    ];
    return { x, s, span };
  }, [series.data, timeDimension, range.from, range.to]);

  const cur = ws.currency;
  const header = model ? gridHeader(model) : [];
  const width = chosen.length;
  // Each header cell after the level columns belongs to a metric column (three per metric when comparing).
  const columnOfCell = (i: number) => columns[Math.floor((i - width) / (compare ? 3 : 1))];
  const costCell = model ? costCellIndex(model) : null;
  const isDeltaCell = (i: number) => compare && (i - width) % 3 === 2;
  const cellText = (i: number, v: number | string | null) =>
    isDeltaCell(i)
      ? v === null
        ? "—"
        : `${Number(v) > 0 ? "+" : ""}${(Number(v) * 100).toFixed(1)}%`
      : formatCell(columnOfCell(i), v, cur);

  return (
    <div className="flex flex-col gap-4">
      <Card
        title="Report"
        actions={
          <>
            <Button onClick={() => queryClient.invalidateQueries({ queryKey: trpc.reports.run.pathKey() })}>
              Refresh
            </Button>
            <Button onClick={() => setPicking(!picking)} aria-expanded={picking}>
              Columns
            </Button>
            <Button onClick={exportCsv} disabled={!model}>
              Export CSV
            </Button>
          </>
        }
      >
        <div className="flex flex-wrap items-end gap-3">
          <DateRangeFields state={dates} timeZone={ws.timeZone} />
          {dates.preset === "custom" ? null : (
            <p className="pb-2 text-sm text-slate-600" data-testid="range">
              {range.from === range.to ? range.from : `${range.from} – ${range.to}`}
            </p>
          )}
          {[0, 1, 2].map((i) =>
            i === 0 || levels[i - 1] !== NONE ? (
              <Select
                key={i}
                label={i === 0 ? "Group by" : `Then by (level ${i + 1})`}
                value={levels[i] ?? NONE}
                onChange={(e) => setLevel(i, e.target.value)}
                options={[
                  ...(i === 0 ? [] : [{ value: NONE, label: "—" }]),
                  ...options.filter((o) => o.value === levels[i] || !levels.slice(0, i).includes(o.value)),
                ]}
              />
            ) : null,
          )}
          <Select
            label="Credit conversions at"
            value={creditAt}
            onChange={(e) => setCreditAt(e.target.value as "visit" | "conversion")}
            options={[
              { value: "visit", label: "the visit's time" },
              { value: "conversion", label: "the conversion's time" },
            ]}
          />
          <label className="flex items-center gap-2 pb-2 text-sm">
            <input type="checkbox" checked={compare} onChange={(e) => setCompare(e.target.checked)} />
            Compare with previous period
          </label>
          <label className="flex items-center gap-2 pb-2 text-sm">
            <input type="checkbox" checked={includeBots} onChange={(e) => setIncludeBots(e.target.checked)} />
            Include bots
          </label>
        </div>
        {report ? (
          <dl className="mt-4 grid grid-cols-2 gap-2 text-sm md:grid-cols-6">
            {[
              ["Visits", count(report.totals.visits)],
              ["Conversions", count(report.totals.direct?.conversions)],
              ["Revenue", money(report.totals.direct?.revenue, cur)],
              ["Cost", money(report.totals.cost, cur)],
              ["Profit", money(report.totals.profit, cur)],
              ["ROI", percent(report.totals.roi)],
            ].map(([k, v]) => (
              <div key={k} className="rounded bg-slate-100 px-3 py-2">
                <dt className="text-xs text-slate-500">{k}</dt>
                <dd className="font-semibold tabular-nums" data-metric={k}>
                  {v}
                </dd>
              </div>
            ))}
          </dl>
        ) : null}
        {report?.previous ? (
          <p className="mt-2 text-xs text-slate-500">
            Compared with {report.previous.from} – {report.previous.to}
          </p>
        ) : null}
        {picking ? (
          <fieldset className="mt-3 rounded border border-slate-200 p-3" aria-label="Columns">
            <legend className="px-1 text-xs text-slate-500">
              Columns (remembered for you in this workspace)
            </legend>
            <ul className="grid grid-cols-2 gap-1 text-sm md:grid-cols-4">
              {[...columns, ...allColumns.filter((c) => !columnKeys.includes(c.key))].map((c) => (
                <li key={c.key} className="flex items-center gap-1">
                  <label className="flex items-center gap-1">
                    <input
                      type="checkbox"
                      checked={columnKeys.includes(c.key)}
                      onChange={() => toggleColumn(c.key)}
                    />
                    {c.label}
                  </label>
                  {columnKeys.includes(c.key) ? (
                    <>
                      <button
                        type="button"
                        className="px-1 text-slate-500"
                        aria-label={`Move ${c.label} left`}
                        onClick={() => moveColumn(c.key, -1)}
                      >
                        ←
                      </button>
                      <button
                        type="button"
                        className="px-1 text-slate-500"
                        aria-label={`Move ${c.label} right`}
                        onClick={() => moveColumn(c.key, 1)}
                      >
                        →
                      </button>
                    </>
                  ) : null}
                </li>
              ))}
            </ul>
            <ErrorText error={savePrefs.error ? errorMessage(savePrefs.error) : null} />
          </fieldset>
        ) : null}
        {report?.notes.map((n) => (
          <p key={n} className="mt-2 text-xs text-slate-500">
            {n}
          </p>
        ))}
      </Card>
      <Card title="Over time">
        {chart.x.length > 0 ? (
          <TimeChart
            title={`Visits, conversions, revenue and profit by ${timeDimension}`}
            x={chart.x}
            series={chart.s}
            range={chart.span}
          />
        ) : (
          <p className="text-sm text-slate-500">No data in this range.</p>
        )}
      </Card>
      <Card title={`By ${chosen.map(dimensionLabel).join(" › ")}`}>
        <ErrorText error={error ? errorMessage(error) : null} />
        <div className="overflow-x-auto">
          <table className="w-full border-collapse text-sm" aria-label="Report grid">
            <thead>
              <tr className="border-b border-slate-200 text-xs uppercase text-slate-500">
                {header.map((h, i) => {
                  const key = i < width ? "label" : (columnOfCell(i)?.key ?? "");
                  const sortable =
                    i === 0 || (i >= width && !isDeltaCell(i) && (!compare || (i - width) % 3 === 0));
                  return (
                    <th
                      key={h}
                      scope="col"
                      className={`px-2 py-1.5 font-medium ${i < width ? "text-left" : "text-right"}`}
                      aria-sort={
                        sortable && sort?.key === key
                          ? sort.dir === 1
                            ? "ascending"
                            : "descending"
                          : undefined
                      }
                    >
                      {sortable ? (
                        <button
                          type="button"
                          className="uppercase hover:text-slate-900"
                          onClick={() => sortBy(key)}
                        >
                          {h}
                          {sort?.key === key ? (sort.dir === 1 ? " ▲" : " ▼") : ""}
                        </button>
                      ) : (
                        h
                      )}
                    </th>
                  );
                })}
              </tr>
            </thead>
            <tbody>
              {model && lines.length === 0 ? (
                <tr>
                  <td colSpan={header.length} className="px-2 py-3 text-slate-500">
                    No visits or conversions in this range.
                  </td>
                </tr>
              ) : null}
              {!model ? (
                <tr>
                  <td className="px-2 py-3 text-slate-500">{root?.isPending ? "Loading…" : ""}</td>
                </tr>
              ) : null}
              {model
                ? lines.map((l) => {
                    const key = pathKey(l.path);
                    const cells = gridCells(model, l.metrics, l.previous);
                    return (
                      <tr key={key} className="border-b border-slate-100" data-level={l.level}>
                        {chosen.map((dimension, i) => (
                          <td key={dimension} className="px-2 py-1">
                            {i === l.level ? (
                              l.expandable ? (
                                <button
                                  type="button"
                                  className="text-left hover:underline"
                                  aria-expanded={l.expanded}
                                  onClick={() => toggle(key)}
                                >
                                  {l.expanded ? "▾ " : "▸ "}
                                  {l.label}
                                  {l.loading ? " …" : ""}
                                </button>
                              ) : (
                                l.label
                              )
                            ) : null}
                          </td>
                        ))}
                        {cells.map((v, i) => (
                          <td
                            // biome-ignore lint/suspicious/noArrayIndexKey: cells are positional, like the header
                            key={i}
                            className={`px-2 py-1 text-right tabular-nums ${isDeltaCell(i + width) ? "text-xs text-slate-500" : ""}`}
                          >
                            {cellText(i + width, v)}
                            {i === costCell ? <CostMarker note={l.costNote} /> : null}
                          </td>
                        ))}
                      </tr>
                    );
                  })
                : null}
            </tbody>
            {model ? (
              <tfoot>
                <tr className="border-t-2 border-slate-300 font-semibold" data-testid="totals">
                  {chosen.map((dimension, i) => (
                    <td key={dimension} className="px-2 py-1">
                      {i === 0 ? "Total" : null}
                    </td>
                  ))}
                  {gridCells(model, model.totals, model.previousTotals).map((v, i) => (
                    <td
                      // biome-ignore lint/suspicious/noArrayIndexKey: cells are positional, like the header
                      key={i}
                      className="px-2 py-1 text-right tabular-nums"
                    >
                      {cellText(i + width, v)}
                      {i === costCell ? <CostMarker note={costUpdateNote(model.totals)} /> : null}
                    </td>
                  ))}
                </tr>
              </tfoot>
            ) : null}
          </table>
        </div>
        {report?.truncated ? (
          <p className="mt-2 text-xs text-amber-700">Only the first 5,000 rows of this level are shown.</p>
        ) : null}
      </Card>
    </div>
  );
}

/** The cost cell's mark when cost updates set (part of) the row's cost; the note is its tooltip. */
function CostMarker({ note }: { note: string | null }) {
  if (note === null) return null;
  return (
    <abbr
      title={note}
      aria-label={note}
      data-testid="cost-updated"
      className="ml-0.5 cursor-help text-amber-600 no-underline"
    >
      *
    </abbr>
  );
}
