import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FieldSpec, ObjectScreen, type ObjectSpec, type Values } from "../components/object-screen.tsx";
import { TrackingFieldsEditor } from "../components/tracking-fields.tsx";
import { Button, CopyButton, Field } from "../components/ui.tsx";
import { useObjects } from "../components/use-objects.ts";
import { dateTime, money } from "../format.ts";
import { type RouterOutputs, useTRPC } from "../trpc.ts";
import { useWorkspace } from "../workspace.tsx";
import { CUSTOM_DRAFT, draftInput, pickTemplate, type TrafficSourceDraft } from "./traffic-source-form.tsx";

// The campaign objects a funnel is built from, each one ObjectScreen driven by its fields: create
// and edit with one form (validation messages are the api's own, with the form's labels), archive
// after a confirm, archived ones listed on request and restored.

function useInvalidate() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries();
}

const text = (v: unknown) => (typeof v === "string" ? v.trim() : "");
/** An optional text field: empty means "none". */
const orNull = (v: unknown) => (text(v) === "" ? null : text(v));

// --- traffic sources ----------------------------------------------------------------------------------

type TrafficSource = RouterOutputs["trafficSources"]["list"]["items"][number];

const TRAFFIC_SOURCE_DEFAULTS: Values = { ...CUSTOM_DRAFT };

/**
 * A network macro that fills an entrance-link parameter: null (unknown: the link shows REPLACE) is
 * told apart from "" (the network appends the value itself: the parameter stays off the link).
 */
function macroField(key: "externalMacro" | "campaignMacro" | "costMacro", label: string): FieldSpec {
  return {
    key,
    label,
    type: "custom",
    render: (values, set) => {
      const value = values[key] as string | null | undefined;
      return (
        <Field
          name={key}
          label={label}
          value={value ?? ""}
          hint={
            value === null || value === undefined
              ? "unknown: the entrance link shows REPLACE"
              : value === ""
                ? "left off the link"
                : undefined
          }
          onChange={(e) => set({ [key]: e.target.value === "" ? null : e.target.value })}
        />
      );
    },
  };
}

export function TrafficSources() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const invalidate = useInvalidate();
  const sourceInput = (v: Values) => {
    const { workspaceId: _, ...input } = draftInput(ws.id, v as unknown as TrafficSourceDraft);
    return input;
  };
  const actions = useObjects("trafficSources", { create: sourceInput, update: sourceInput });
  const templates = useQuery(trpc.trafficSources.templates.queryOptions());
  const macros = useQuery(trpc.trackingCodes.macros.queryOptions({ workspaceId: ws.id }));
  const enable = useMutation(trpc.trafficSources.enablePostbacks.mutationOptions({ onSuccess: invalidate }));
  const spec: ObjectSpec<TrafficSource> = {
    singular: "traffic source",
    plural: "traffic sources",
    macros: macros.data,
    fields: [
      { key: "name", label: "Name", required: true },
      {
        key: "postbackUrl",
        label: "Postback URL",
        type: "url",
        urlKind: "trafficSourcePostback",
        extraMacros: (v) =>
          ((v.trackingFields ?? []) as TrafficSourceDraft["trackingFields"]).map((f) => f.name),
        placeholder: "https://network.example/pb?click_id={external}&payout={payout}",
      },
      { key: "externalParam", label: "Click ID parameter" },
      macroField("externalMacro", "Click ID macro"),
      { key: "costParam", label: "Cost parameter" },
      macroField("costMacro", "Cost macro"),
      { key: "campaignParam", label: "Campaign parameter" },
      macroField("campaignMacro", "Campaign macro"),
      {
        key: "trackingFields",
        label: "Tracking fields",
        type: "custom",
        render: (v, set) => (
          <TrackingFieldsEditor
            value={(v.trackingFields ?? []) as TrafficSourceDraft["trackingFields"]}
            onChange={(rows) => set({ trackingFields: rows.map((f) => ({ ...f, macro: f.macro ?? "" })) })}
          />
        ),
      },
    ],
    defaults: TRAFFIC_SOURCE_DEFAULTS,
    fromRow: (r) => ({
      name: r.name,
      postbackUrl: r.postbackUrl ?? "",
      externalParam: r.externalParam,
      externalMacro: r.externalMacro,
      campaignParam: r.campaignParam,
      campaignMacro: r.campaignMacro,
      costParam: r.costParam,
      costMacro: r.costMacro,
      trackingFields: r.trackingFields.map((f) => ({ ...f, macro: f.macro ?? "" })),
    }),
    templates: {
      options: (templates.data ?? []).map((t) => ({ value: t.key, label: t.label })),
      // Everything from the template (or Custom's defaults), nothing of the previous one.
      apply: (key) => ({
        ...pickTemplate(
          CUSTOM_DRAFT,
          undefined,
          templates.data?.find((x) => x.key === key),
        ),
      }),
    },
    archiveNote: "Its entrance links stop routing; its history stays in reports.",
    columns: [
      { key: "name", header: "Name", cell: (r) => r.name, sort: (r) => r.name },
      {
        key: "postback",
        header: "Postback URL",
        cell: (r) => <code className="text-xs break-all">{r.postbackUrl ?? "—"}</code>,
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
    ],
  };
  return <ObjectScreen spec={spec} actions={{ ...actions, listError: actions.listError ?? enable.error }} />;
}

// --- offer sources ------------------------------------------------------------------------------------

type OfferSource = RouterOutputs["offerSources"]["list"]["items"][number];

const DUPLICATE_POLICIES = [
  { value: "update", label: "updates its revenue" },
  { value: "ignore", label: "is ignored" },
  { value: "add", label: "adds to its revenue" },
  { value: "new", label: "counts a new conversion" },
] as const;
type DuplicatePolicy = (typeof DUPLICATE_POLICIES)[number]["value"];

/** What a missing status map means: the seed's own status words. */
export const SEED_STATUS_WORDS =
  "built-in: pending, hold, preapproved → pending (0.01); rejected, reject, trash, cancelled → conversion deleted; any other word → approved";

const offerSourceInput = (v: Values) => ({
  name: text(v.name),
  clickIdParam: text(v.clickIdParam),
  postbackTemplate: orNull(v.postbackTemplate),
  duplicatePolicy: text(v.duplicatePolicy) as DuplicatePolicy,
});

/** The postback URL to give the network, built by the api exactly as the offer's codes build it. */
function NetworkPostback({ offerSourceId }: { offerSourceId: string }) {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const codes = useQuery(trpc.trackingCodes.offerSource.queryOptions({ workspaceId: ws.id, offerSourceId }));
  if (codes.isPending) return <span className="text-xs text-slate-500">…</span>;
  if (codes.error) return <span className="text-xs text-red-700">{codes.error.message}</span>;
  if (!codes.data.postbackUrl)
    return (
      <span className="text-xs text-slate-500">
        No postback template: use the postback URL under Tracking codes with this network's macros.
      </span>
    );
  return (
    <div className="flex items-start gap-2">
      <code className="text-xs break-all">{codes.data.postbackUrl}</code>
      <CopyButton text={codes.data.postbackUrl} />
    </div>
  );
}

export function OfferSources() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const actions = useObjects("offerSources", {
    create: (v) => ({
      ...offerSourceInput(v),
      ...(v.statusMap
        ? { statusMap: v.statusMap as Record<string, "approved" | "pending" | "rejected"> }
        : {}),
    }),
    update: offerSourceInput,
  });
  const templates = useQuery(trpc.offerSources.templates.queryOptions());
  const macros = useQuery(trpc.trackingCodes.macros.queryOptions({ workspaceId: ws.id }));
  const spec: ObjectSpec<OfferSource> = {
    singular: "offer source",
    plural: "offer sources",
    macros: macros.data,
    fields: [
      { key: "name", label: "Name", required: true },
      { key: "clickIdParam", label: "Click ID parameter", hint: "Where the offer URL passes {hit}" },
      {
        key: "postbackTemplate",
        label: "Network postback template",
        type: "url",
        urlKind: "offerSourcePostback",
        placeholder: "https://DOMAIN/pb/?hit={sub1}&tx={txid}&rev={payout}",
        hint: "DOMAIN becomes your tracking domain",
      },
      { key: "duplicatePolicy", label: "A repeated conversion", type: "select", options: DUPLICATE_POLICIES },
    ],
    defaults: {
      name: "",
      clickIdParam: "clickid",
      postbackTemplate: "",
      duplicatePolicy: "update",
      statusMap: null,
    },
    fromRow: (r) => ({
      name: r.name,
      clickIdParam: r.clickIdParam,
      postbackTemplate: r.postbackTemplate ?? "",
      duplicatePolicy: r.duplicatePolicy,
    }),
    templates: {
      options: (templates.data ?? []).map((t) => ({ value: t.key, label: t.label })),
      apply: (key) => {
        const t = templates.data?.find((x) => x.key === key);
        if (!t) return {};
        return {
          name: t.label,
          clickIdParam: t.clickIdParam,
          postbackTemplate: t.postbackTemplate ?? "",
          statusMap: t.statusMap,
        };
      },
    },
    archiveNote: "Offers that name it keep it; their history stays in reports.",
    columns: [
      { key: "name", header: "Name", cell: (r) => r.name, sort: (r) => r.name },
      { key: "click", header: "Click ID parameter", cell: (r) => <code>{r.clickIdParam}</code> },
      {
        key: "postback",
        header: "Postback URL for the network",
        cell: (r) => <NetworkPostback offerSourceId={r.id} />,
      },
      {
        key: "status",
        header: "Status words",
        cell: (r) =>
          r.statusMap ? (
            Object.entries(r.statusMap)
              .map(([k, v]) => `${k} → ${v}`)
              .join(", ")
          ) : (
            <span className="text-xs text-slate-600">{SEED_STATUS_WORDS}</span>
          ),
      },
      {
        key: "dup",
        header: "A repeated conversion",
        cell: (r) =>
          DUPLICATE_POLICIES.find((p) => p.value === r.duplicatePolicy)?.label ?? r.duplicatePolicy,
      },
    ],
  };
  return <ObjectScreen spec={spec} actions={actions} />;
}

// --- offers -------------------------------------------------------------------------------------------

type Offer = RouterOutputs["offers"]["list"]["items"][number];

const offerInput = (v: Values) => ({
  name: text(v.name),
  url: text(v.url),
  defaultPayout: text(v.defaultPayout) === "" ? "0" : text(v.defaultPayout),
  offerSourceId: orNull(v.offerSourceId),
  passVisitorId: v.passVisitorId !== false,
});

export function Offers() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const invalidate = useInvalidate();
  const actions = useObjects("offers", { create: offerInput, update: offerInput });
  // Archived sources too: an offer may still name one, and its name is what the list shows.
  const sources = useQuery(
    trpc.offerSources.list.queryOptions({ workspaceId: ws.id, includeArchived: true }),
  );
  const macros = useQuery(trpc.trackingCodes.macros.queryOptions({ workspaceId: ws.id }));
  const setPassing = useMutation(trpc.offers.update.mutationOptions({ onSuccess: invalidate }));
  const sourceName = (id: string | null) =>
    id === null ? null : (sources.data?.items.find((s) => s.id === id)?.name ?? "(unknown)");
  const spec: ObjectSpec<Offer> = {
    singular: "offer",
    plural: "offers",
    macros: macros.data,
    fields: [
      { key: "name", label: "Name", required: true },
      {
        key: "url",
        label: "Offer URL",
        type: "url",
        urlKind: "page",
        placeholder: "https://network.example/offer?clickid={hit}",
        required: true,
      },
      { key: "defaultPayout", label: "Default payout", inputMode: "decimal" },
      {
        key: "offerSourceId",
        label: "Offer source",
        type: "select",
        options: [
          { value: "", label: "None" },
          ...(sources.data?.items ?? [])
            .filter((s) => !s.archivedAt)
            .map((s) => ({ value: s.id, label: s.name })),
        ],
      },
      // Seed: the visitor ID is added to redirect destinations; some networks refuse unknown parameters.
      {
        key: "passVisitorId",
        label: `Pass the visitor ID (${ws.visitorIdParam}) on redirect`,
        type: "check",
      },
    ],
    defaults: { name: "", url: "", defaultPayout: "", offerSourceId: "", passVisitorId: true },
    fromRow: (r) => ({
      name: r.name,
      url: r.url,
      defaultPayout: r.defaultPayout,
      offerSourceId: r.offerSourceId ?? "",
      passVisitorId: r.passVisitorId,
    }),
    archiveNote: "Funnels that send to it keep doing so until you change them; its history stays in reports.",
    columns: [
      { key: "name", header: "Name", cell: (r) => r.name, sort: (r) => r.name },
      {
        key: "source",
        header: "Offer source",
        cell: (r) => sourceName(r.offerSourceId) ?? <span className="text-slate-500">none</span>,
        sort: (r) => sourceName(r.offerSourceId) ?? "",
      },
      {
        key: "payout",
        header: "Payout",
        align: "right",
        cell: (r) => money(r.defaultPayout, r.currency ?? ws.currency),
        sort: (r) => Number(r.defaultPayout),
      },
      { key: "url", header: "URL", cell: (r) => <code className="text-xs break-all">{r.url}</code> },
      {
        key: "vid",
        header: `Appends ${ws.visitorIdParam}`,
        cell: (r) => (
          <input
            type="checkbox"
            aria-label={`Append the visitor ID (${ws.visitorIdParam}) to ${r.name}`}
            checked={r.passVisitorId}
            disabled={setPassing.isPending || r.archivedAt !== null}
            onChange={(e) =>
              setPassing.mutate({ workspaceId: ws.id, offerId: r.id, passVisitorId: e.target.checked })
            }
          />
        ),
      },
    ],
  };
  return (
    <ObjectScreen spec={spec} actions={{ ...actions, listError: actions.listError ?? setPassing.error }} />
  );
}

// --- landers ------------------------------------------------------------------------------------------

type Lander = RouterOutputs["landers"]["list"]["items"][number];

const landerInput = (v: Values) => ({
  name: text(v.name),
  url: text(v.url),
  defaultPayout: text(v.defaultPayout) === "" ? "0" : text(v.defaultPayout),
});

export function Landers() {
  const trpc = useTRPC();
  const ws = useWorkspace();
  const actions = useObjects("landers", { create: landerInput, update: landerInput });
  const macros = useQuery(trpc.trackingCodes.macros.queryOptions({ workspaceId: ws.id }));
  const spec: ObjectSpec<Lander> = {
    singular: "lander",
    plural: "landers",
    macros: macros.data,
    fields: [
      { key: "name", label: "Name", required: true },
      {
        key: "url",
        label: "Lander URL",
        type: "url",
        urlKind: "page",
        placeholder: "https://pages.example/quiz?vid={vid}",
        required: true,
      },
      {
        key: "defaultPayout",
        label: "Default payout",
        inputMode: "decimal",
        hint: "For conversions on the lander itself (lead forms)",
      },
    ],
    defaults: { name: "", url: "", defaultPayout: "" },
    fromRow: (r) => ({ name: r.name, url: r.url, defaultPayout: r.defaultPayout }),
    columns: [
      { key: "name", header: "Name", cell: (r) => r.name, sort: (r) => r.name },
      { key: "url", header: "URL", cell: (r) => <code className="text-xs break-all">{r.url}</code> },
    ],
  };
  return <ObjectScreen spec={spec} actions={actions} />;
}

// --- custom event types -------------------------------------------------------------------------------

type EventType = RouterOutputs["eventTypes"]["list"]["items"][number];

const eventTypeInput = (v: Values) => ({
  name: text(v.name),
  alias: text(v.alias),
  hasRevenue: v.hasRevenue === true,
  defaultRevenue: text(v.defaultRevenue) === "" ? "0" : text(v.defaultRevenue),
  countsAsConversion: v.countsAsConversion === true,
  firesPostback: v.firesPostback === true,
});

export function EventTypes() {
  const ws = useWorkspace();
  const actions = useObjects("eventTypes", { create: eventTypeInput, update: eventTypeInput });
  const spec: ObjectSpec<EventType> = {
    singular: "custom event",
    plural: "custom events",
    fields: [
      { key: "name", label: "Name", required: true },
      { key: "alias", label: "Alias (used in code)", required: true },
      { key: "hasRevenue", label: "Carries revenue", type: "check" },
      {
        key: "defaultRevenue",
        label: "Default revenue",
        inputMode: "decimal",
        hint: "When the event does not say (with “Carries revenue”)",
      },
      { key: "countsAsConversion", label: "Counts as a conversion in reports", type: "check" },
      { key: "firesPostback", label: "Fires the traffic-source postback", type: "check" },
    ],
    defaults: {
      name: "",
      alias: "",
      hasRevenue: false,
      defaultRevenue: "",
      countsAsConversion: false,
      firesPostback: false,
    },
    fromRow: (r) => ({
      name: r.name,
      alias: r.alias,
      hasRevenue: r.hasRevenue,
      defaultRevenue: r.defaultRevenue,
      countsAsConversion: r.countsAsConversion,
      firesPostback: r.firesPostback,
    }),
    columns: [
      { key: "name", header: "Name", cell: (r) => r.name, sort: (r) => r.name },
      { key: "alias", header: "Alias", cell: (r) => <code>{r.alias}</code> },
      {
        key: "rev",
        header: "Revenue",
        cell: (r) => (r.hasRevenue ? money(r.defaultRevenue, ws.currency) : "none"),
      },
      { key: "conv", header: "Counts as conversion", cell: (r) => (r.countsAsConversion ? "yes" : "no") },
      { key: "pb", header: "Fires postback", cell: (r) => (r.firesPostback ? "yes" : "no") },
    ],
  };
  return <ObjectScreen spec={spec} actions={actions} />;
}
