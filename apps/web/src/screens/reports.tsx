import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { type Series, TimeChart } from "../components/chart.tsx";
import { Button, Card, type Column, ErrorText, Field, Select, Table } from "../components/ui.tsx";
import { count, lastDays, money, percent } from "../format.ts";
import { errorMessage, type RouterInputs, type RouterOutputs, useTRPC } from "../trpc.ts";
import { useWorkspace } from "../workspace.tsx";

type Report = RouterOutputs["reports"]["run"];
type Row = Report["rows"][number];
type Dimension = NonNullable<RouterInputs["reports"]["run"]["groupBy"]>[number];

const DIMENSIONS: ReadonlyArray<{ value: Dimension; label: string }> = [
  { value: "funnel", label: "Funnel" },
  { value: "node", label: "Node" },
  { value: "lander", label: "Lander" },
  { value: "offer", label: "Offer" },
  { value: "trafficSource", label: "Traffic source" },
  { value: "country", label: "Country" },
  { value: "device", label: "Device" },
  { value: "os", label: "OS" },
  { value: "browser", label: "Browser" },
  { value: "day", label: "Day" },
  { value: "hour", label: "Hour" },
  { value: "trackingField", label: "Tracking field" },
];
const labelOf = (d: string) => DIMENSIONS.find((x) => x.value === d)?.label ?? d;

/**
 * The report a media buyer lives in: pick a range and a grouping, click a row to group inside it
 * (drill-down, up to three levels), sort any column, export what you see as CSV.
 */
export function Reports() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const initial = lastDays(7, ws.timeZone);
  const [from, setFrom] = useState(initial.from);
  const [to, setTo] = useState(initial.to);
  const [dimension, setDimension] = useState<Dimension>("funnel");
  /** Drill-down: each level a dimension and the value clicked. */
  const [path, setPath] = useState<Array<{ dimension: Dimension; value: string | null; label: string }>>([]);
  const [next, setNext] = useState<Dimension>("node");
  const [trackingField, setTrackingField] = useState("zone");
  const [creditAt, setCreditAt] = useState<"visit" | "conversion">("visit");

  const groupBy: Dimension[] = [...path.map((p) => p.dimension), path.length > 0 ? next : dimension];
  const byField = groupBy.includes("trackingField");
  const report = useQuery(
    trpc.reports.run.queryOptions({
      workspaceId: ws.id,
      from,
      to,
      groupBy,
      creditAt,
      ...(byField ? { trackingField: trackingField.trim() || "zone" } : {}),
    }),
  );
  const days = (Date.parse(to) - Date.parse(from)) / 86_400_000;
  const timeDimension: Dimension = days < 2 ? "hour" : "day";
  const series = useQuery(
    trpc.reports.run.queryOptions({ workspaceId: ws.id, from, to, groupBy: [timeDimension] }),
  );

  const leaf = groupBy[groupBy.length - 1] as Dimension;
  const rows = useMemo(
    () =>
      (report.data?.rows ?? []).filter((r) => path.every((p) => (r.key[p.dimension] ?? null) === p.value)),
    [report.data, path],
  );
  const eventTypes = report.data?.eventTypes ?? [];
  const cur = ws.currency;

  const columns: Column<Row>[] = [
    {
      key: "key",
      header: labelOf(leaf),
      cell: (r) => r.labels[leaf] ?? r.key[leaf] ?? "(none)",
      sort: (r) => r.labels[leaf] ?? r.key[leaf] ?? "",
    },
    {
      key: "visits",
      header: "Visits",
      align: "right",
      cell: (r) => count(r.metrics.visits),
      sort: (r) => r.metrics.visits,
    },
    {
      key: "conversions",
      header: "Conversions",
      align: "right",
      cell: (r) => count(r.metrics.direct?.conversions),
      sort: (r) => r.metrics.direct?.conversions ?? -1,
    },
    {
      key: "assisted",
      header: "Assisted",
      align: "right",
      cell: (r) => count(r.metrics.assisted?.conversions),
      sort: (r) => r.metrics.assisted?.conversions ?? -1,
    },
    {
      key: "revenue",
      header: "Revenue",
      align: "right",
      cell: (r) => money(r.metrics.direct?.revenue, cur),
      sort: (r) => Number(r.metrics.direct?.revenue ?? -1),
    },
    {
      key: "cost",
      header: "Cost",
      align: "right",
      cell: (r) => money(r.metrics.cost, cur),
      sort: (r) => Number(r.metrics.cost),
    },
    {
      key: "profit",
      header: "Profit",
      align: "right",
      cell: (r) => money(r.metrics.profit, cur),
      sort: (r) => Number(r.metrics.profit ?? 0),
    },
    {
      key: "roi",
      header: "ROI",
      align: "right",
      cell: (r) => percent(r.metrics.roi),
      sort: (r) => r.metrics.roi ?? -1e9,
    },
    {
      key: "cr",
      header: "CR",
      align: "right",
      cell: (r) => percent(r.metrics.cr),
      sort: (r) => r.metrics.cr ?? -1,
    },
    {
      key: "epv",
      header: "EPV",
      align: "right",
      cell: (r) => money(r.metrics.epv, cur),
      sort: (r) => Number(r.metrics.epv ?? -1),
    },
    ...eventTypes.map(
      (e): Column<Row> => ({
        key: `event-${e.id}`,
        header: e.name,
        align: "right",
        cell: (r) => count(r.metrics.events?.[e.id]?.direct.conversions ?? (r.metrics.events ? 0 : null)),
        sort: (r) => r.metrics.events?.[e.id]?.direct.conversions ?? 0,
      }),
    ),
  ];

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
    const range: [number, number] = [
      Date.parse(`${from}T00:00:00Z`) / 1000,
      Date.parse(`${to}T23:59:59Z`) / 1000,
    ];
    return { x, s, range };
  }, [series.data, timeDimension, from, to]);

  const queryClient = useQueryClient();
  const [exportError, setExportError] = useState<string | null>(null);
  /** The api's CSV of the report on screen (the same input), downloaded as a file. */
  const exportCsv = async () => {
    setExportError(null);
    try {
      const file = await queryClient.fetchQuery(
        trpc.reports.csv.queryOptions({
          workspaceId: ws.id,
          from,
          to,
          groupBy,
          creditAt,
          ...(byField ? { trackingField: trackingField.trim() || "zone" } : {}),
        }),
      );
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([file.csv], { type: "text/csv;charset=utf-8" }));
      a.download = file.filename;
      a.click();
      URL.revokeObjectURL(a.href);
    } catch (error) {
      setExportError(errorMessage(error));
    }
  };

  const totals = report.data?.totals;
  return (
    <div className="flex flex-col gap-4">
      <Card title={`Report (${ws.timeZone})`} actions={<Button onClick={exportCsv}>Export CSV</Button>}>
        <div className="flex flex-wrap items-end gap-3">
          <Field label="From" type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
          <Field label="To" type="date" value={to} onChange={(e) => setTo(e.target.value)} />
          {path.length === 0 ? (
            <Select
              label="Group by"
              value={dimension}
              onChange={(e) => setDimension(e.target.value as Dimension)}
              options={DIMENSIONS}
            />
          ) : (
            <Select
              label="Then group by"
              value={next}
              onChange={(e) => setNext(e.target.value as Dimension)}
              options={DIMENSIONS.filter((d) => !path.some((p) => p.dimension === d.value))}
            />
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
          {byField ? (
            <Field
              label="Tracking field name"
              value={trackingField}
              onChange={(e) => setTrackingField(e.target.value)}
            />
          ) : null}
          {path.length > 0 ? <Button onClick={() => setPath(path.slice(0, -1))}>Back up</Button> : null}
        </div>
        {path.length > 0 ? (
          <nav aria-label="Drill-down" className="mt-3 text-sm text-slate-600">
            {path.map((p) => `${labelOf(p.dimension)}: ${p.label}`).join(" › ")}
          </nav>
        ) : null}
        {totals ? (
          <dl className="mt-4 grid grid-cols-2 gap-2 text-sm md:grid-cols-6">
            {[
              ["Visits", count(totals.visits)],
              ["Conversions", count(totals.direct?.conversions)],
              ["Revenue", money(totals.direct?.revenue, cur)],
              ["Cost", money(totals.cost, cur)],
              ["Profit", money(totals.profit, cur)],
              ["ROI", percent(totals.roi)],
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
        {report.data?.notes.map((n) => (
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
            range={chart.range}
          />
        ) : (
          <p className="text-sm text-slate-500">No data in this range.</p>
        )}
      </Card>
      <Card title={`By ${labelOf(leaf).toLowerCase()}`}>
        <ErrorText error={report.error ? errorMessage(report.error) : exportError} />
        <Table
          caption="Report rows"
          rows={rows}
          columns={columns}
          rowKey={(r) => JSON.stringify(r.key)}
          empty={report.isPending ? "Loading…" : "No visits or conversions in this range."}
          onRowClick={
            groupBy.length < 3
              ? (r) => {
                  const value = r.key[leaf] ?? null;
                  setPath([...path, { dimension: leaf, value, label: r.labels[leaf] ?? value ?? "(none)" }]);
                  const remaining = DIMENSIONS.find(
                    (d) => d.value !== leaf && !path.some((p) => p.dimension === d.value),
                  );
                  if (remaining) setNext(leaf === "funnel" ? "node" : remaining.value);
                }
              : undefined
          }
        />
      </Card>
    </div>
  );
}
