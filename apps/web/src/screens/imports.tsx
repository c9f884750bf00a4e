import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Button, Card, type Column, ErrorText, Select, Table } from "../components/ui.tsx";
import { dateTime } from "../format.ts";
import { errorMessage, type RouterInputs, type RouterOutputs, useTRPC } from "../trpc.ts";
import { useWorkspace } from "../workspace.tsx";

type Mapping = NonNullable<RouterInputs["imports"]["create"]["mapping"]>;
type Preview = RouterOutputs["imports"]["preview"];
type ImportRow = RouterOutputs["imports"]["list"]["items"][number];

const FIELDS: ReadonlyArray<[keyof Mapping, string]> = [
  ["hit", "Hit ID"],
  ["external", "External click ID"],
  ["vid", "Visitor ID"],
  ["p", "Page ID"],
  ["tx", "Transaction ID"],
  ["rev", "Revenue"],
  ["status", "Status"],
  ["ts", "Conversion time"],
  ["e", "Custom event alias"],
];

/** Characters per upload request (the api takes at most 400,000). */
const PIECE = 300_000;
const PREVIEW_CHARS = 200_000;

export function Imports() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const queryClient = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [mapping, setMapping] = useState<Mapping | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [postbacks, setPostbacks] = useState(false);
  const [uploading, setUploading] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const history = useQuery({
    ...trpc.imports.list.queryOptions({ workspaceId: ws.id }),
    // Poll while an import is on its way, for its progress.
    refetchInterval: (q) =>
      q.state.data?.items.some(
        (i) => i.status === "queued" || i.status === "running" || i.status === "uploading",
      )
        ? 1000
        : false,
  });
  const previewMutation = useMutation(trpc.imports.preview.mutationOptions());
  const create = useMutation(trpc.imports.create.mutationOptions());
  const upload = useMutation(trpc.imports.upload.mutationOptions());
  const start = useMutation(trpc.imports.start.mutationOptions());

  const runPreview = async (f: File, m: Mapping | null) => {
    setError(null);
    try {
      const text = await f.slice(0, PREVIEW_CHARS).text();
      const result = await previewMutation.mutateAsync({
        workspaceId: ws.id,
        csv: text,
        ...(m ? { mapping: m } : {}),
      });
      setPreview(result);
      setMapping(result.mapping);
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  const run = async () => {
    if (!file || !mapping) return;
    setError(null);
    try {
      const created = await create.mutateAsync({
        workspaceId: ws.id,
        fileName: file.name,
        mapping,
        postbacks,
      });
      const text = await file.text();
      for (let seq = 0, at = 0; at < text.length; seq++, at += PIECE) {
        setUploading(`uploading ${Math.round((at / text.length) * 100)}%`);
        await upload.mutateAsync({
          workspaceId: ws.id,
          importId: created.id,
          seq,
          data: text.slice(at, at + PIECE),
        });
      }
      setUploading(null);
      await start.mutateAsync({ workspaceId: ws.id, importId: created.id });
      setFile(null);
      setPreview(null);
      await queryClient.invalidateQueries({ queryKey: trpc.imports.list.queryKey() });
    } catch (e) {
      setUploading(null);
      setError(errorMessage(e));
    }
  };

  const download = async (row: ImportRow) => {
    const r = await queryClient.fetchQuery(
      trpc.imports.refusals.queryOptions({ workspaceId: ws.id, importId: row.id }),
    );
    const url = URL.createObjectURL(new Blob([r.csv], { type: "text/csv" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = r.fileName;
    a.click();
    URL.revokeObjectURL(url);
  };

  const headers = preview?.headers ?? [];
  const columns: Column<ImportRow>[] = [
    { key: "at", header: "Started", cell: (r) => dateTime(r.createdAt), sort: (r) => r.createdAt },
    { key: "file", header: "File", cell: (r) => r.fileName },
    { key: "by", header: "Ran by", cell: (r) => r.ranBy },
    { key: "status", header: "Status", cell: (r) => (r.error ? `${r.status}: ${r.error}` : r.status) },
    { key: "rows", header: "Rows", align: "right", cell: (r) => r.rowsDone },
    { key: "created", header: "Created", align: "right", cell: (r) => r.created },
    { key: "updated", header: "Updated", align: "right", cell: (r) => r.updated },
    { key: "deleted", header: "Deleted", align: "right", cell: (r) => r.deleted },
    { key: "unchanged", header: "Unchanged", align: "right", cell: (r) => r.unchanged },
    {
      key: "refused",
      header: "Refused",
      align: "right",
      cell: (r) =>
        r.refused > 0 ? (
          <Button
            onClick={() => void download(r)}
            aria-label={`Download the ${r.refused} refused rows of ${r.fileName}`}
          >
            {r.refused} ↓
          </Button>
        ) : (
          0
        ),
    },
  ];

  return (
    <div className="flex flex-col gap-4">
      <Card title="Import conversions">
        <p className="mb-3 text-sm text-slate-600">
          A CSV file with a header row: each row goes through the same rules as a postback (same tx updates,
          statuses, rev=-1, duplicates). Importing the same file again changes nothing.
        </p>
        <label className="mb-3 flex flex-col gap-1 text-sm">
          <span className="font-medium text-slate-700">CSV file</span>
          <input
            type="file"
            accept=".csv,text/csv,text/plain"
            onChange={(e) => {
              const f = e.target.files?.[0] ?? null;
              setFile(f);
              setPreview(null);
              if (f) void runPreview(f, null);
            }}
          />
        </label>
        {preview && mapping ? (
          <>
            <p className="mb-2 text-sm text-slate-600">
              Columns (
              {preview.mappingSource === "remembered"
                ? "as last time"
                : preview.mappingSource === "guessed"
                  ? "guessed from the header"
                  : "as chosen"}
              ):
            </p>
            <div className="mb-3 grid grid-cols-2 gap-3 md:grid-cols-5">
              {FIELDS.map(([key, label]) => (
                <Select
                  key={key}
                  label={label}
                  value={mapping[key] ?? ""}
                  options={[{ value: "", label: "—" }, ...headers.map((h) => ({ value: h, label: h }))]}
                  onChange={(e) => {
                    const next: Mapping = { ...mapping };
                    if (e.target.value) next[key] = e.target.value;
                    else delete next[key];
                    setMapping(next);
                    if (file) void runPreview(file, next);
                  }}
                />
              ))}
            </div>
            <label className="mb-3 flex items-center gap-2 text-sm">
              <input type="checkbox" checked={postbacks} onChange={(e) => setPostbacks(e.target.checked)} />
              Send traffic-source postbacks for these conversions
            </label>
            <ErrorText error={preview.problem} />
            <Table
              caption="Preview of the first rows"
              rows={preview.rows}
              rowKey={(r) => String(r.line)}
              columns={[
                { key: "line", header: "Line", align: "right", cell: (r) => r.line },
                { key: "outcome", header: "Would", cell: (r) => r.outcome },
                { key: "hit", header: "Hit", cell: (r) => <code className="text-xs">{r.hitId ?? ""}</code> },
                { key: "rev", header: "Revenue", align: "right", cell: (r) => r.revenue ?? "" },
                { key: "reason", header: "Why", cell: (r) => r.reason ?? "" },
              ]}
            />
            <div className="mt-3 flex items-center gap-3">
              <Button onClick={() => void run()} disabled={preview.problem !== null || uploading !== null}>
                Import {file?.name}
              </Button>
              {uploading ? <span className="text-sm">{uploading}</span> : null}
            </div>
          </>
        ) : null}
        <ErrorText error={error} />
      </Card>
      <Card title="Imports">
        <ErrorText error={history.error ? errorMessage(history.error) : null} />
        <Table caption="Imports" rows={history.data?.items ?? []} columns={columns} rowKey={(r) => r.id} />
      </Card>
    </div>
  );
}
