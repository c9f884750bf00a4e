import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { DateRangeFields, useDateRange } from "../components/date-range.tsx";
import { Button, Card, type Column, ErrorText, Field, Select, Table } from "../components/ui.tsx";
import { dateTime, money } from "../format.ts";
import { errorMessage, type RouterOutputs, useTRPC } from "../trpc.ts";
import { useWorkspace } from "../workspace.tsx";

type Conversion = RouterOutputs["conversions"]["list"]["items"][number];

export function Conversions() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const [search, setSearch] = useState("");
  const dates = useDateRange(ws.timeZone);
  const { range } = dates;
  // Rejected conversions are hidden unless asked for.
  const [includeDeleted, setIncludeDeleted] = useState(false);
  const [open, setOpen] = useState<string | null>(null);
  const list = useQuery(
    trpc.conversions.list.queryOptions({
      workspaceId: ws.id,
      includeDeleted,
      fromDate: range.from,
      toDate: range.to,
      ...(search.trim() ? { search: search.trim() } : {}),
    }),
  );
  const detail = useQuery({
    ...trpc.conversions.get.queryOptions({ workspaceId: ws.id, conversionId: open ?? "" }),
    enabled: open !== null,
  });
  const columns: Column<Conversion>[] = [
    { key: "at", header: "Converted", cell: (r) => dateTime(r.convertedAt), sort: (r) => r.convertedAt },
    {
      key: "funnel",
      header: "Funnel",
      cell: (r) => r.hit.funnelName ?? "—",
      sort: (r) => r.hit.funnelName ?? "",
    },
    {
      key: "offer",
      // The converting page: an offer, or a lander that converts by itself.
      header: "Offer / lander",
      cell: (r) => r.hit.pageName ?? "—",
      sort: (r) => r.hit.pageName ?? "",
    },
    {
      key: "source",
      header: "Traffic source",
      cell: (r) => r.hit.trafficSourceName ?? "—",
      sort: (r) => r.hit.trafficSourceName ?? "",
    },
    {
      key: "external",
      header: "Click ID",
      cell: (r) => <code className="text-xs">{r.hit.externalId ?? "—"}</code>,
    },
    {
      key: "country",
      header: "Country",
      cell: (r) => r.hit.country ?? "—",
      sort: (r) => r.hit.country ?? "",
    },
    { key: "hit", header: "Hit", cell: (r) => <code className="text-xs">{r.hitId}</code> },
    { key: "tx", header: "Tx", cell: (r) => r.tx || "—" },
    {
      key: "status",
      header: "Status",
      cell: (r) => (r.deletedAt ? "rejected (deleted)" : r.status),
      sort: (r) => r.status,
    },
    {
      key: "rev",
      header: "Revenue",
      align: "right",
      cell: (r) => money(r.revenue, ws.currency),
      sort: (r) => Number(r.revenue),
    },
    { key: "revision", header: "Rev.", align: "right", cell: (r) => r.revision },
  ];
  return (
    <div className="flex flex-col gap-4">
      <Card title="Conversions">
        <div className="mb-3 flex flex-wrap items-end gap-3">
          <DateRangeFields state={dates} timeZone={ws.timeZone} />
          <Field
            label="Search hit, tx or click ID"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
          <label className="flex items-center gap-2 text-sm">
            <input
              type="checkbox"
              checked={includeDeleted}
              onChange={(e) => setIncludeDeleted(e.target.checked)}
            />
            Show rejected
          </label>
        </div>
        <ErrorText error={list.error ? errorMessage(list.error) : null} />
        <Table
          caption="Conversions"
          rows={list.data?.items ?? []}
          columns={columns}
          rowKey={(r) => r.id}
          onRowClick={(r) => setOpen(r.id)}
        />
      </Card>
      {detail.data ? (
        <Card title={`Conversion ${detail.data.id}: revisions`}>
          <Table
            caption="Revisions"
            rows={detail.data.revisions}
            rowKey={(r) => String(r.revision)}
            columns={[
              { key: "n", header: "Revision", cell: (r) => r.revision },
              { key: "at", header: "At", cell: (r) => dateTime(r.createdAt) },
              { key: "action", header: "Change", cell: (r) => r.action },
              { key: "source", header: "Source", cell: (r) => r.source },
              {
                key: "prev",
                header: "Before",
                align: "right",
                cell: (r) => money(r.previousRevenue, ws.currency),
              },
              { key: "rev", header: "After", align: "right", cell: (r) => money(r.revenue, ws.currency) },
            ]}
          />
        </Card>
      ) : null}
    </div>
  );
}

type Received = RouterOutputs["postbacks"]["list"]["items"][number];

export function Postbacks() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const [outcome, setOutcome] = useState("");
  const [reason, setReason] = useState("");
  const [hitId, setHitId] = useState("");
  const list = useQuery(
    trpc.postbacks.list.queryOptions({
      workspaceId: ws.id,
      ...(outcome ? { outcome: outcome as NonNullable<Received["outcome"]> } : {}),
      ...(reason.trim() ? { reason: reason.trim() } : {}),
      ...(/^[0-9a-f-]{36}$/i.test(hitId.trim()) ? { hitId: hitId.trim() } : {}),
    }),
  );
  const columns: Column<Received>[] = [
    { key: "at", header: "Received", cell: (r) => dateTime(r.receivedAt), sort: (r) => r.receivedAt },
    { key: "channel", header: "Channel", cell: (r) => r.channel },
    { key: "outcome", header: "Outcome", cell: (r) => r.outcome },
    { key: "reason", header: "Reason", cell: (r) => r.reason ?? "" },
    {
      key: "params",
      header: "Parameters",
      cell: (r) => <code className="text-xs break-all">{JSON.stringify(r.params)}</code>,
    },
    { key: "ip", header: "IP", cell: (r) => r.ip ?? "" },
  ];
  return (
    <Card title="Received postbacks">
      <div className="mb-3 flex flex-wrap items-end gap-3">
        <Field label="Reason contains" value={reason} onChange={(e) => setReason(e.target.value)} />
        <Field label="Hit ID" value={hitId} onChange={(e) => setHitId(e.target.value)} />
        <Select
          label="Outcome"
          value={outcome}
          onChange={(e) => setOutcome(e.target.value)}
          options={["", "created", "updated", "deleted", "restored", "ignored", "rejected"].map((o) => ({
            value: o,
            label: o || "any",
          }))}
        />
      </div>
      <ErrorText error={list.error ? errorMessage(list.error) : null} />
      <Table
        caption="Received postbacks"
        rows={list.data?.items ?? []}
        columns={columns}
        rowKey={(r) => r.id}
      />
    </Card>
  );
}

type Delivery = RouterOutputs["deliveries"]["list"]["items"][number];

export function Deliveries() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.deliveries.list.queryOptions({ workspaceId: ws.id }));
  const replay = useMutation(
    trpc.deliveries.replay.mutationOptions({ onSuccess: () => queryClient.invalidateQueries() }),
  );
  const columns: Column<Delivery>[] = [
    { key: "at", header: "Created", cell: (r) => dateTime(r.createdAt), sort: (r) => r.createdAt },
    { key: "url", header: "URL", cell: (r) => <code className="text-xs break-all">{r.url}</code> },
    { key: "status", header: "Status", cell: (r) => r.status },
    { key: "attempts", header: "Attempts", align: "right", cell: (r) => r.attempts },
    {
      key: "last",
      header: "Last answer",
      cell: (r) => r.lastError ?? (r.lastStatusCode ? `HTTP ${r.lastStatusCode}` : "—"),
    },
    {
      key: "replay",
      header: "",
      cell: (r) => (
        <Button
          onClick={() => replay.mutate({ workspaceId: ws.id, deliveryId: r.id })}
          disabled={replay.isPending}
        >
          Replay
        </Button>
      ),
    },
  ];
  return (
    <Card title="Outbound postbacks">
      <ErrorText
        error={list.error ? errorMessage(list.error) : replay.error ? errorMessage(replay.error) : null}
      />
      <Table
        caption="Outbound deliveries"
        rows={list.data?.items ?? []}
        columns={columns}
        rowKey={(r) => r.id}
      />
    </Card>
  );
}
