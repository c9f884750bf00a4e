import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Button, Card, type Column, ErrorText, Field, Select, Table } from "../components/ui.tsx";
import { count, dateTime, lastDays, money } from "../format.ts";
import { errorMessage, type RouterOutputs, useTRPC } from "../trpc.ts";
import { useWorkspace } from "../workspace.tsx";

// Cost updates (docs/costs.md): set what a source, a funnel or a zone cost over a range, upload a
// cost file, and see every update with what became of it, each one undoable.

type CostUpdate = RouterOutputs["costs"]["list"]["items"][number];

const STATUS: Record<CostUpdate["status"], string> = {
  live: "live",
  replaced: "replaced",
  partly_replaced: "partly replaced",
  undone: "undone",
};

function scopeText(u: CostUpdate): string {
  const parts: string[] = [];
  if (u.trafficSourceId) parts.push(u.trafficSourceName ?? u.trafficSourceId);
  if (u.funnelId) parts.push(`funnel ${u.funnelName ?? u.funnelId}`);
  if (u.fieldName) parts.push(`${u.fieldName} = ${u.fieldValue}`);
  return parts.join(" · ");
}

const rangeText = (u: CostUpdate) => `${u.from.replace("T", " ")} → ${u.to.replace("T", " ")}`;

export function Costs() {
  const ws = useWorkspace();
  return (
    <div className="flex flex-col gap-4">
      <SetCost key={`set-${ws.id}`} />
      <UploadCosts key={`upload-${ws.id}`} />
      <CostUpdates />
    </div>
  );
}

function useInvalidateCosts() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return async () => {
    await queryClient.invalidateQueries({ queryKey: trpc.costs.list.queryKey() });
    await queryClient.invalidateQueries({ queryKey: trpc.reports.run.queryKey() });
  };
}

function SetCost() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const invalidate = useInvalidateCosts();
  const sources = useQuery(trpc.trafficSources.list.queryOptions({ workspaceId: ws.id }));
  const funnels = useQuery(trpc.funnels.list.queryOptions({ workspaceId: ws.id }));
  const yesterday = lastDays(2, ws.timeZone).from;
  const [trafficSourceId, setTrafficSourceId] = useState("");
  const [funnelId, setFunnelId] = useState("");
  const [fieldName, setFieldName] = useState("");
  const [fieldValue, setFieldValue] = useState("");
  const [from, setFrom] = useState(yesterday);
  const [to, setTo] = useState(yesterday);
  const [mode, setMode] = useState<"total" | "per_visit">("total");
  const [amount, setAmount] = useState("");
  const set = useMutation(trpc.costs.set.mutationOptions({ onSuccess: invalidate }));
  const fieldNames = [
    ...new Set(
      (sources.data?.items ?? [])
        .filter((s) => !trafficSourceId || s.id === trafficSourceId)
        .flatMap((s) => s.trackingFields.map((f) => f.name)),
    ),
    "campaign",
  ];
  return (
    <Card title="Set a cost">
      <form
        className="flex flex-col gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          set.mutate({
            workspaceId: ws.id,
            ...(trafficSourceId ? { trafficSourceId } : {}),
            ...(funnelId ? { funnelId } : {}),
            ...(fieldName && fieldValue ? { field: { name: fieldName, value: fieldValue } } : {}),
            from,
            to,
            mode,
            amount,
          });
        }}
      >
        <div className="flex flex-wrap items-end gap-3">
          <Select
            label="Traffic source"
            value={trafficSourceId}
            onChange={(e) => setTrafficSourceId(e.target.value)}
            options={[
              { value: "", label: "Any" },
              ...(sources.data?.items ?? []).map((s) => ({ value: s.id, label: s.name })),
            ]}
          />
          <Select
            label="Funnel"
            value={funnelId}
            onChange={(e) => setFunnelId(e.target.value)}
            options={[
              { value: "", label: "Any" },
              ...(funnels.data?.items ?? []).map((f) => ({ value: f.id, label: f.name })),
            ]}
          />
          <Select
            label="Tracking field"
            value={fieldName}
            onChange={(e) => setFieldName(e.target.value)}
            options={[{ value: "", label: "None" }, ...fieldNames.map((n) => ({ value: n, label: n }))]}
          />
          {fieldName ? (
            <Field
              label={`Value of ${fieldName}`}
              value={fieldValue}
              onChange={(e) => setFieldValue(e.target.value)}
            />
          ) : null}
        </div>
        <div className="flex flex-wrap items-end gap-3">
          <Field
            label="From"
            value={from}
            onChange={(e) => setFrom(e.target.value)}
            hint={`a date or 2026-05-01T10:00, ${ws.timeZone}`}
          />
          <Field
            label="To"
            value={to}
            onChange={(e) => setTo(e.target.value)}
            hint="a date: to the end of that day"
          />
          <Select
            label="Amount is"
            value={mode}
            onChange={(e) => setMode(e.target.value as "total" | "per_visit")}
            options={[
              { value: "total", label: "the total for the range" },
              { value: "per_visit", label: "the price of each visit" },
            ]}
          />
          <Field
            label={`Amount (${ws.currency})`}
            value={amount}
            inputMode="decimal"
            onChange={(e) => setAmount(e.target.value)}
          />
          <Button type="submit" variant="primary" disabled={set.isPending}>
            Set cost
          </Button>
        </div>
        <ErrorText
          error={
            set.error
              ? errorMessage(set.error)
              : sources.error
                ? `The traffic sources could not be loaded: ${errorMessage(sources.error)}`
                : funnels.error
                  ? `The funnels could not be loaded: ${errorMessage(funnels.error)}`
                  : null
          }
        />
        {set.data ? (
          <p role="status" className="text-sm text-slate-700">
            {money(set.data.allocated, ws.currency)} spread over {count(set.data.visits)} visit(s) of{" "}
            {scopeText(set.data)}, {rangeText(set.data)}; they cost{" "}
            {money(set.data.replacedCost, ws.currency)} before.
            {set.data.notes.map((n) => (
              <span key={n} className="block text-amber-800">
                {n}
              </span>
            ))}
          </p>
        ) : null}
      </form>
    </Card>
  );
}

function UploadCosts() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const invalidate = useInvalidateCosts();
  const [file, setFile] = useState<{ name: string; text: string } | null>(null);
  const upload = useMutation(trpc.costs.upload.mutationOptions({ onSuccess: invalidate }));
  const problems =
    (upload.error?.data as { details?: { problems?: { line: number; reason: string }[] } } | undefined)
      ?.details?.problems ?? [];
  return (
    <Card title="Upload a cost file">
      <p className="mb-2 text-sm text-slate-600">
        CSV with a header <code>date,source,zone,amount</code> (the third column names the tracking field) or{" "}
        <code>date,source,amount</code>: one total per line for a whole day of a traffic source (by name or
        id), in {ws.timeZone}. A file with a bad line changes nothing.
      </p>
      <div className="flex flex-wrap items-end gap-3">
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium text-slate-700">Cost file</span>
          <input
            type="file"
            accept=".csv,text/csv"
            onChange={async (e) => {
              const f = e.target.files?.[0];
              upload.reset();
              setFile(f ? { name: f.name, text: await f.text() } : null);
            }}
          />
        </label>
        <Button
          variant="primary"
          disabled={file === null || upload.isPending}
          onClick={() => file && upload.mutate({ workspaceId: ws.id, fileName: file.name, csv: file.text })}
        >
          Upload
        </Button>
      </div>
      {upload.error && problems.length === 0 ? <ErrorText error={errorMessage(upload.error)} /> : null}
      {problems.length > 0 ? (
        <div role="alert" className="mt-3 rounded border border-red-200 bg-red-50 p-3 text-sm text-red-800">
          <p className="font-medium">Nothing was changed: {problems.length} bad line(s).</p>
          <ul className="mt-1 list-disc pl-5">
            {problems.map((p) => (
              <li key={`${p.line}-${p.reason}`}>
                line {p.line}: {p.reason}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {upload.data ? (
        <p role="status" className="mt-3 text-sm text-slate-700">
          {upload.data.fileName}: {upload.data.updates.length} cost(s) applied.
        </p>
      ) : null}
    </Card>
  );
}

function CostUpdates() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const invalidate = useInvalidateCosts();
  const list = useQuery(trpc.costs.list.queryOptions({ workspaceId: ws.id }));
  const undo = useMutation(trpc.costs.undo.mutationOptions({ onSuccess: invalidate }));
  const columns: Column<CostUpdate>[] = [
    { key: "at", header: "When", cell: (u) => dateTime(u.createdAt), sort: (u) => u.createdAt },
    { key: "who", header: "Who", cell: (u) => u.createdBy ?? `(${u.origin})` },
    { key: "scope", header: "Scope", cell: scopeText },
    { key: "range", header: `Range (${ws.timeZone})`, cell: rangeText },
    {
      key: "amount",
      header: "Amount",
      align: "right",
      cell: (u) =>
        u.mode === "per_visit" ? `${money(u.amount, ws.currency)} / visit` : money(u.amount, ws.currency),
    },
    { key: "visits", header: "Visits", align: "right", cell: (u) => count(u.visits) },
    { key: "allocated", header: "Spread", align: "right", cell: (u) => money(u.allocated, ws.currency) },
    {
      key: "status",
      header: "Status",
      cell: (u) =>
        u.status === "undone"
          ? `undone ${dateTime(u.undoneAt)}${u.undoneBy ? ` by ${u.undoneBy}` : ""}`
          : STATUS[u.status],
    },
    { key: "origin", header: "From", cell: (u) => (u.fileName ? `${u.fileName}:${u.fileLine}` : u.origin) },
    {
      key: "undo",
      header: "",
      cell: (u) =>
        u.status === "undone" ? null : (
          <Button
            variant="danger"
            aria-label={`Undo cost update of ${scopeText(u)}, ${rangeText(u)}`}
            disabled={undo.isPending}
            onClick={(e) => {
              e.stopPropagation();
              undo.mutate({ workspaceId: ws.id, updateId: u.id });
            }}
          >
            Undo
          </Button>
        ),
    },
  ];
  return (
    <Card title="Cost updates">
      <p className="mb-2 text-sm text-slate-600">
        A visit's cost is the share of the latest update that covers it (not undone), else what its click
        carried. Undo brings back exactly what the update replaced.
      </p>
      <ErrorText
        error={list.error ? errorMessage(list.error) : undo.error ? errorMessage(undo.error) : null}
      />
      <Table caption="Cost updates" rows={list.data?.items ?? []} columns={columns} rowKey={(u) => u.id} />
    </Card>
  );
}
