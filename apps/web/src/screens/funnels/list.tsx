import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate } from "react-router";
import {
  Button,
  Card,
  Check,
  type Column,
  ConfirmDialog,
  ErrorText,
  FormError,
  Table,
} from "../../components/ui.tsx";
import { dateTime, money } from "../../format.ts";
import { errorMessage, type RouterOutputs, useTRPC } from "../../trpc.ts";
import { useWorkspace } from "../../workspace.tsx";

type Summary = RouterOutputs["funnels"]["list"]["items"][number];

/** The funnels, with their node count and today's numbers; clone, archive (after a confirm) and restore. */
export function Funnels() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [showArchived, setShowArchived] = useState(false);
  const [confirming, setConfirming] = useState<Summary | null>(null);
  const list = useQuery(
    trpc.funnels.list.queryOptions({ workspaceId: ws.id, includeArchived: showArchived }),
  );
  const invalidate = () => queryClient.invalidateQueries();
  const archive = useMutation(trpc.funnels.archive.mutationOptions({ onSuccess: invalidate }));
  const clone = useMutation(
    trpc.funnels.clone.mutationOptions({
      onSuccess: async (copy) => {
        await invalidate();
        navigate(`/funnels/${copy.funnelId}`);
      },
    }),
  );
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
    {
      key: "visits",
      header: "Visits today",
      align: "right",
      cell: (r) => r.today.visits,
      sort: (r) => r.today.visits,
    },
    {
      key: "conversions",
      header: "Conversions today",
      align: "right",
      cell: (r) => r.today.conversions,
      sort: (r) => r.today.conversions,
    },
    {
      key: "revenue",
      header: "Revenue today",
      align: "right",
      cell: (r) => money(r.today.revenue, ws.currency),
      sort: (r) => Number(r.today.revenue),
    },
    { key: "version", header: "Version", align: "right", cell: (r) => r.version },
    { key: "updated", header: "Updated", cell: (r) => dateTime(r.updatedAt), sort: (r) => r.updatedAt },
    {
      key: "actions",
      header: "",
      cell: (r) => (
        <div className="flex justify-end gap-1">
          <Button
            aria-label={`Clone ${r.name}`}
            disabled={clone.isPending}
            onClick={() => clone.mutate({ workspaceId: ws.id, funnelId: r.id })}
          >
            Clone
          </Button>
          {r.archivedAt ? (
            <Button
              aria-label={`Restore ${r.name}`}
              onClick={() => archive.mutate({ workspaceId: ws.id, funnelId: r.id, archived: false })}
            >
              Restore
            </Button>
          ) : (
            <Button variant="danger" aria-label={`Archive ${r.name}`} onClick={() => setConfirming(r)}>
              Archive
            </Button>
          )}
        </div>
      ),
    },
  ];
  return (
    <Card
      title="Funnels"
      actions={
        <>
          <Check label="Show archived" checked={showArchived} onChange={setShowArchived} />
          <Link
            to="/funnels/new"
            className="rounded border border-blue-700 bg-blue-600 px-3 py-1.5 text-sm font-medium text-white"
          >
            New funnel
          </Link>
        </>
      }
    >
      <ErrorText error={list.error ? errorMessage(list.error) : null} />
      <FormError error={clone.error ?? (confirming ? null : archive.error)} />
      {list.data ? (
        <p className="mb-2 text-xs text-slate-500">
          Today is {list.data.today} in {list.data.timeZone}, the workspace's time zone.
        </p>
      ) : null}
      <Table caption="Funnels" rows={list.data?.items ?? []} columns={columns} rowKey={(r) => r.id} />
      {confirming ? (
        <ConfirmDialog
          title={`Archive funnel "${confirming.name}"?`}
          body={
            <>
              <p>
                Its entrance and action links stop routing at once (visitors get a 404). Its history stays in
                reports.
              </p>
              <p className="mt-2">You can restore it from "Show archived" at any time.</p>
              <FormError error={archive.error} />
            </>
          }
          confirm="Archive"
          pending={archive.isPending}
          onConfirm={() =>
            archive.mutate(
              { workspaceId: ws.id, funnelId: confirming.id },
              { onSuccess: () => setConfirming(null) },
            )
          }
          onCancel={() => {
            setConfirming(null);
            archive.reset();
          }}
        />
      ) : null}
    </Card>
  );
}
