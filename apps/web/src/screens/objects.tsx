import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, type ReactNode, useState } from "react";
import { Button, Card, type Column, ErrorText, Field, Select, Table } from "../components/ui.tsx";
import { UrlField } from "../components/url-field.tsx";
import { dateTime, money } from "../format.ts";
import { errorMessage, type RouterOutputs, useTRPC } from "../trpc.ts";
import { useWorkspace } from "../workspace.tsx";
import { CUSTOM_DRAFT, draftInput, TrafficSourceFields } from "./traffic-source-form.tsx";

// The campaign objects a funnel is built from. Each screen: the list (archived ones hidden), and a
// form that creates one; archive is one click. Validation messages are the api's own.

function CreateForm({
  title,
  onSubmit,
  pending,
  error,
  children,
}: {
  title: string;
  onSubmit: () => void;
  pending: boolean;
  error: unknown;
  children: ReactNode;
}) {
  return (
    <form
      aria-label={title}
      className="grid grid-cols-1 gap-3 md:grid-cols-3"
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      {children}
      <div className="flex items-end md:col-span-3">
        <Button type="submit" variant="primary" disabled={pending}>
          {title}
        </Button>
      </div>
      <div className="md:col-span-3">
        <ErrorText error={error ? errorMessage(error) : null} />
      </div>
    </form>
  );
}

function useInvalidate() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries();
}

type TrafficSource = RouterOutputs["trafficSources"]["list"]["items"][number];

export function TrafficSources() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const invalidate = useInvalidate();
  const list = useQuery(trpc.trafficSources.list.queryOptions({ workspaceId: ws.id }));
  const templates = useQuery(trpc.trafficSources.templates.queryOptions());
  const macros = useQuery(trpc.trackingCodes.macros.queryOptions({ workspaceId: ws.id }));
  const [draft, setDraft] = useState(CUSTOM_DRAFT);
  const create = useMutation(
    trpc.trafficSources.create.mutationOptions({
      onSuccess: () => {
        setDraft(CUSTOM_DRAFT);
        return invalidate();
      },
    }),
  );
  const archive = useMutation(trpc.trafficSources.archive.mutationOptions({ onSuccess: invalidate }));
  const enable = useMutation(trpc.trafficSources.enablePostbacks.mutationOptions({ onSuccess: invalidate }));
  const columns: Column<TrafficSource>[] = [
    { key: "name", header: "Name", cell: (r) => r.name, sort: (r) => r.name },
    {
      key: "postback",
      header: "Postback URL",
      cell: (r) => <code className="text-xs">{r.postbackUrl ?? "—"}</code>,
    },
    { key: "params", header: "Click ID / cost", cell: (r) => `${r.externalParam} / ${r.costParam}` },
    {
      key: "fields",
      header: "Tracking fields",
      cell: (r) =>
        [`campaign ?${r.campaignParam}=`, ...r.trackingFields.map((f) => `${f.name} ?${f.param}=`)].join(
          ", ",
        ),
    },
    {
      key: "health",
      header: "Postbacks",
      cell: (r) =>
        r.postbackDisabledAt ? (
          <div className="flex flex-col gap-1">
            <span className="text-red-700">Disabled: {r.postbackDisabledReason}</span>
            <Button onClick={() => enable.mutate({ workspaceId: ws.id, trafficSourceId: r.id })}>
              Enable postbacks
            </Button>
          </div>
        ) : r.postbackFlag ? (
          <div className="flex flex-col gap-1">
            <span className="text-amber-700">{r.postbackFlag}</span>
            <Button onClick={() => enable.mutate({ workspaceId: ws.id, trafficSourceId: r.id })}>
              Clear flag
            </Button>
          </div>
        ) : r.postbackFailingSince ? (
          <span className="text-amber-700">failing since {dateTime(r.postbackFailingSince)}</span>
        ) : (
          "ok"
        ),
    },
    { key: "created", header: "Created", cell: (r) => dateTime(r.createdAt), sort: (r) => r.createdAt },
    {
      key: "archive",
      header: "",
      cell: (r) => (
        <Button
          variant="danger"
          onClick={() => archive.mutate({ workspaceId: ws.id, trafficSourceId: r.id })}
        >
          Archive
        </Button>
      ),
    },
  ];
  return (
    <div className="flex flex-col gap-4">
      <Card title="New traffic source">
        <CreateForm
          title="Create traffic source"
          pending={create.isPending}
          error={create.error}
          onSubmit={() => create.mutate(draftInput(ws.id, draft))}
        >
          <TrafficSourceFields
            draft={draft}
            onChange={setDraft}
            templates={templates.data ?? []}
            macros={macros.data}
          />
        </CreateForm>
      </Card>
      <Card title="Traffic sources">
        <ErrorText error={list.error ? errorMessage(list.error) : null} />
        <Table
          caption="Traffic sources"
          rows={(list.data?.items ?? []).filter((r) => !r.archivedAt)}
          columns={columns}
          rowKey={(r) => r.id}
        />
      </Card>
    </div>
  );
}

type OfferSource = RouterOutputs["offerSources"]["list"]["items"][number];

export function OfferSources() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const invalidate = useInvalidate();
  const list = useQuery(trpc.offerSources.list.queryOptions({ workspaceId: ws.id }));
  const templates = useQuery(trpc.offerSources.templates.queryOptions());
  const macros = useQuery(trpc.trackingCodes.macros.queryOptions({ workspaceId: ws.id }));
  const [template, setTemplate] = useState("");
  const [name, setName] = useState("");
  const [clickIdParam, setClickIdParam] = useState("clickid");
  const [postbackTemplate, setPostbackTemplate] = useState("");
  const [duplicatePolicy, setDuplicatePolicy] = useState<"update" | "ignore" | "add" | "new">("update");
  const create = useMutation(
    trpc.offerSources.create.mutationOptions({
      onSuccess: () => {
        setName("");
        setPostbackTemplate("");
        return invalidate();
      },
    }),
  );
  const archive = useMutation(trpc.offerSources.archive.mutationOptions({ onSuccess: invalidate }));
  const chosen = templates.data?.find((t) => t.key === template);
  const columns: Column<OfferSource>[] = [
    { key: "name", header: "Name", cell: (r) => r.name, sort: (r) => r.name },
    { key: "click", header: "Click ID parameter", cell: (r) => r.clickIdParam },
    {
      key: "status",
      header: "Status words",
      cell: (r) =>
        r.statusMap
          ? Object.entries(r.statusMap)
              .map(([k, v]) => `${k}→${v}`)
              .join(", ")
          : "seed defaults",
    },
    { key: "dup", header: "Repeats", cell: (r) => r.duplicatePolicy },
    {
      key: "archive",
      header: "",
      cell: (r) => (
        <Button variant="danger" onClick={() => archive.mutate({ workspaceId: ws.id, offerSourceId: r.id })}>
          Archive
        </Button>
      ),
    },
  ];
  return (
    <div className="flex flex-col gap-4">
      <Card title="New offer source">
        <CreateForm
          title="Create offer source"
          pending={create.isPending}
          error={create.error}
          onSubmit={() =>
            create.mutate({
              workspaceId: ws.id,
              name,
              clickIdParam,
              duplicatePolicy,
              postbackTemplate: postbackTemplate.trim() === "" ? null : postbackTemplate,
              ...(chosen?.statusMap ? { statusMap: chosen.statusMap } : {}),
            })
          }
        >
          <Select
            label="Template"
            value={template}
            onChange={(e) => {
              // Another template (or Custom) takes back everything the previous one set.
              const previous = templates.data?.find((x) => x.key === template);
              const t = templates.data?.find((x) => x.key === e.target.value);
              setTemplate(e.target.value);
              const typed = name !== "" && name !== previous?.label ? name : "";
              setName(typed || t?.label || "");
              setClickIdParam(t?.clickIdParam ?? "clickid");
              setPostbackTemplate(t?.postbackTemplate ?? "");
            }}
            options={[
              { value: "", label: "Custom" },
              ...(templates.data ?? []).map((t) => ({ value: t.key, label: t.label })),
            ]}
          />
          <Field label="Name" value={name} onChange={(e) => setName(e.target.value)} required />
          <Field
            label="Click ID parameter"
            value={clickIdParam}
            onChange={(e) => setClickIdParam(e.target.value)}
          />
          <UrlField
            label="Network postback template"
            kind="offerSourcePostback"
            macros={macros.data}
            placeholder="https://DOMAIN/pb/?hit={sub1}&tx={transaction_id}&rev={payout}"
            value={postbackTemplate}
            onChange={setPostbackTemplate}
          />
          <Select
            label="A repeated conversion"
            value={duplicatePolicy}
            onChange={(e) => setDuplicatePolicy(e.target.value as typeof duplicatePolicy)}
            options={[
              { value: "update", label: "updates its revenue" },
              { value: "ignore", label: "is ignored" },
              { value: "add", label: "adds to its revenue" },
              { value: "new", label: "counts a new conversion" },
            ]}
          />
        </CreateForm>
      </Card>
      <Card title="Offer sources">
        <Table
          caption="Offer sources"
          rows={(list.data?.items ?? []).filter((r) => !r.archivedAt)}
          columns={columns}
          rowKey={(r) => r.id}
        />
      </Card>
    </div>
  );
}

type Offer = RouterOutputs["offers"]["list"]["items"][number];

export function Offers() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const invalidate = useInvalidate();
  const list = useQuery(trpc.offers.list.queryOptions({ workspaceId: ws.id }));
  const sources = useQuery(trpc.offerSources.list.queryOptions({ workspaceId: ws.id }));
  const macros = useQuery(trpc.trackingCodes.macros.queryOptions({ workspaceId: ws.id }));
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [payout, setPayout] = useState("");
  const [offerSourceId, setOfferSourceId] = useState("");
  // Seed: the visitor ID is added to redirect destinations; some networks refuse unknown parameters.
  const [passVisitorId, setPassVisitorId] = useState(true);
  const create = useMutation(
    trpc.offers.create.mutationOptions({
      onSuccess: () => {
        setName("");
        setUrl("");
        setPayout("");
        setPassVisitorId(true);
        return invalidate();
      },
    }),
  );
  const setPassing = useMutation(trpc.offers.update.mutationOptions({ onSuccess: invalidate }));
  const archive = useMutation(trpc.offers.archive.mutationOptions({ onSuccess: invalidate }));
  const columns: Column<Offer>[] = [
    { key: "name", header: "Name", cell: (r) => r.name, sort: (r) => r.name },
    { key: "url", header: "URL", cell: (r) => <code className="text-xs break-all">{r.url}</code> },
    {
      key: "payout",
      header: "Payout",
      align: "right",
      cell: (r) => money(r.defaultPayout, r.currency ?? ws.currency),
      sort: (r) => Number(r.defaultPayout),
    },
    {
      key: "vid",
      header: `Appends ${ws.visitorIdParam}`,
      cell: (r) => (
        <input
          type="checkbox"
          aria-label={`Append the visitor ID (${ws.visitorIdParam}) to ${r.name}`}
          checked={r.passVisitorId}
          disabled={setPassing.isPending}
          onChange={(e) =>
            setPassing.mutate({ workspaceId: ws.id, offerId: r.id, passVisitorId: e.target.checked })
          }
        />
      ),
    },
    {
      key: "archive",
      header: "",
      cell: (r) => (
        <Button variant="danger" onClick={() => archive.mutate({ workspaceId: ws.id, offerId: r.id })}>
          Archive
        </Button>
      ),
    },
  ];
  return (
    <div className="flex flex-col gap-4">
      <Card title="New offer">
        <CreateForm
          title="Create offer"
          pending={create.isPending}
          error={create.error}
          onSubmit={() =>
            create.mutate({
              workspaceId: ws.id,
              name,
              url,
              defaultPayout: payout.trim() === "" ? "0" : payout,
              offerSourceId: offerSourceId === "" ? null : offerSourceId,
              passVisitorId,
            })
          }
        >
          <Field label="Name" value={name} onChange={(e) => setName(e.target.value)} required />
          <UrlField
            label="Offer URL"
            kind="page"
            macros={macros.data}
            placeholder="https://network.example/offer?clickid={hit}"
            value={url}
            onChange={setUrl}
            required
          />
          <Field
            label="Default payout"
            inputMode="decimal"
            value={payout}
            onChange={(e) => setPayout(e.target.value)}
          />
          <Select
            label="Offer source"
            value={offerSourceId}
            onChange={(e) => setOfferSourceId(e.target.value)}
            options={[
              { value: "", label: "None" },
              ...(sources.data?.items ?? []).map((s) => ({ value: s.id, label: s.name })),
            ]}
          />
          <label
            className="flex items-center gap-2 text-sm"
            title="Turn off for networks that refuse unknown parameters"
          >
            <input
              type="checkbox"
              checked={passVisitorId}
              onChange={(e) => setPassVisitorId(e.target.checked)}
            />
            Pass the visitor ID ({ws.visitorIdParam}) on redirect
          </label>
        </CreateForm>
      </Card>
      <Card title="Offers">
        <Table
          caption="Offers"
          rows={(list.data?.items ?? []).filter((r) => !r.archivedAt)}
          columns={columns}
          rowKey={(r) => r.id}
        />
      </Card>
      <ErrorText error={setPassing.error ? errorMessage(setPassing.error) : null} />
    </div>
  );
}

type Lander = RouterOutputs["landers"]["list"]["items"][number];

export function Landers() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const invalidate = useInvalidate();
  const list = useQuery(trpc.landers.list.queryOptions({ workspaceId: ws.id }));
  const macros = useQuery(trpc.trackingCodes.macros.queryOptions({ workspaceId: ws.id }));
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const create = useMutation(
    trpc.landers.create.mutationOptions({
      onSuccess: () => {
        setName("");
        setUrl("");
        return invalidate();
      },
    }),
  );
  const archive = useMutation(trpc.landers.archive.mutationOptions({ onSuccess: invalidate }));
  const columns: Column<Lander>[] = [
    { key: "name", header: "Name", cell: (r) => r.name, sort: (r) => r.name },
    { key: "url", header: "URL", cell: (r) => <code className="text-xs break-all">{r.url}</code> },
    {
      key: "archive",
      header: "",
      cell: (r) => (
        <Button variant="danger" onClick={() => archive.mutate({ workspaceId: ws.id, landerId: r.id })}>
          Archive
        </Button>
      ),
    },
  ];
  return (
    <div className="flex flex-col gap-4">
      <Card title="New lander">
        <CreateForm
          title="Create lander"
          pending={create.isPending}
          error={create.error}
          onSubmit={() => create.mutate({ workspaceId: ws.id, name, url })}
        >
          <Field label="Name" value={name} onChange={(e) => setName(e.target.value)} required />
          <UrlField
            label="Lander URL"
            kind="page"
            macros={macros.data}
            placeholder="https://pages.example/quiz?vid={vid}"
            value={url}
            onChange={setUrl}
            required
          />
        </CreateForm>
      </Card>
      <Card title="Landers">
        <Table
          caption="Landers"
          rows={(list.data?.items ?? []).filter((r) => !r.archivedAt)}
          columns={columns}
          rowKey={(r) => r.id}
        />
      </Card>
    </div>
  );
}

type EventType = RouterOutputs["eventTypes"]["list"]["items"][number];

export function EventTypes() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const invalidate = useInvalidate();
  const list = useQuery(trpc.eventTypes.list.queryOptions({ workspaceId: ws.id }));
  const [name, setName] = useState("");
  const [alias, setAlias] = useState("");
  const [hasRevenue, setHasRevenue] = useState(false);
  const [countsAsConversion, setCountsAsConversion] = useState(false);
  const [firesPostback, setFiresPostback] = useState(false);
  const create = useMutation(
    trpc.eventTypes.create.mutationOptions({
      onSuccess: () => {
        setName("");
        setAlias("");
        return invalidate();
      },
    }),
  );
  const archive = useMutation(trpc.eventTypes.archive.mutationOptions({ onSuccess: invalidate }));
  const check = (label: string, value: boolean, set: (v: boolean) => void) => (
    <label className="flex items-center gap-2 text-sm">
      <input type="checkbox" checked={value} onChange={(e) => set(e.target.checked)} />
      {label}
    </label>
  );
  const columns: Column<EventType>[] = [
    { key: "name", header: "Name", cell: (r) => r.name, sort: (r) => r.name },
    { key: "alias", header: "Alias", cell: (r) => <code>{r.alias}</code> },
    {
      key: "rev",
      header: "Revenue",
      cell: (r) => (r.hasRevenue ? money(r.defaultRevenue, ws.currency) : "none"),
    },
    { key: "conv", header: "Counts as conversion", cell: (r) => (r.countsAsConversion ? "yes" : "no") },
    { key: "pb", header: "Fires postback", cell: (r) => (r.firesPostback ? "yes" : "no") },
    {
      key: "archive",
      header: "",
      cell: (r) => (
        <Button variant="danger" onClick={() => archive.mutate({ workspaceId: ws.id, eventTypeId: r.id })}>
          Archive
        </Button>
      ),
    },
  ];
  return (
    <div className="flex flex-col gap-4">
      <Card title="New custom event">
        <CreateForm
          title="Create custom event"
          pending={create.isPending}
          error={create.error}
          onSubmit={() =>
            create.mutate({ workspaceId: ws.id, name, alias, hasRevenue, countsAsConversion, firesPostback })
          }
        >
          <Field label="Name" value={name} onChange={(e) => setName(e.target.value)} required />
          <Field
            label="Alias (used in code)"
            value={alias}
            onChange={(e) => setAlias(e.target.value)}
            required
          />
          <div className="flex flex-col gap-1 pt-5">
            {check("Carries revenue", hasRevenue, setHasRevenue)}
            {check("Counts as a conversion in reports", countsAsConversion, setCountsAsConversion)}
            {check("Fires the traffic-source postback", firesPostback, setFiresPostback)}
          </div>
        </CreateForm>
      </Card>
      <Card title="Custom events">
        <Table
          caption="Custom events"
          rows={(list.data?.items ?? []).filter((r) => !r.archivedAt)}
          columns={columns}
          rowKey={(r) => r.id}
        />
      </Card>
    </div>
  );
}
