import { TrackingFieldsEditor } from "../components/tracking-fields.tsx";
import { Field, Select } from "../components/ui.tsx";
import { UrlField } from "../components/url-field.tsx";
import type { RouterInputs, RouterOutputs } from "../trpc.ts";

// The traffic source form's state, apart from the screen: a template fills every field it knows,
// and picking another template (or Custom) first takes back everything the previous one set, so a
// Facebook source switched to Custom does not keep `fbclid`.

type Template = RouterOutputs["trafficSources"]["templates"][number];
type CreateInput = RouterInputs["trafficSources"]["create"];

export interface TrafficSourceDraft {
  template: string;
  name: string;
  postbackUrl: string;
  externalParam: string;
  /** null: unknown (the entrance link shows REPLACE); "": the network appends it itself. */
  externalMacro: string | null;
  campaignParam: string;
  campaignMacro: string | null;
  costParam: string;
  costMacro: string | null;
  trackingFields: Array<{ name: string; param: string; macro: string }>;
}

/** Custom: the api's defaults, nothing of any network's. */
export const CUSTOM_DRAFT: TrafficSourceDraft = {
  template: "",
  name: "",
  postbackUrl: "",
  externalParam: "external",
  externalMacro: null,
  campaignParam: "campaign",
  campaignMacro: null,
  costParam: "cost",
  costMacro: null,
  trackingFields: [],
};

/**
 * The draft after picking `template` (undefined: Custom). Everything comes from the template or the
 * Custom defaults; only a name the user typed (not the previous template's label) is kept.
 */
export function pickTemplate(
  draft: TrafficSourceDraft,
  previous: Template | undefined,
  template: Template | undefined,
): TrafficSourceDraft {
  const typedName = draft.name !== "" && draft.name !== previous?.label ? draft.name : "";
  if (!template) return { ...CUSTOM_DRAFT, name: typedName };
  // A template's null macro means the network appends the value itself (or has none): keep it off the link.
  const own = (macro: string | null) => macro ?? "";
  return {
    template: template.key,
    name: typedName || template.label,
    postbackUrl: template.postbackUrl ?? "",
    externalParam: template.externalParam,
    externalMacro: own(template.externalMacro),
    campaignParam: template.campaignParam,
    campaignMacro: own(template.campaignMacro),
    costParam: template.costParam,
    costMacro: own(template.costMacro),
    trackingFields: template.trackingFields.map((f) => ({ ...f })),
  };
}

/** What the api is asked to create from a draft. */
export function draftInput(workspaceId: string, d: TrafficSourceDraft): CreateInput {
  return {
    workspaceId,
    name: d.name,
    postbackUrl: d.postbackUrl.trim() === "" ? null : d.postbackUrl,
    externalParam: d.externalParam,
    externalMacro: d.externalMacro,
    campaignParam: d.campaignParam,
    campaignMacro: d.campaignMacro,
    costParam: d.costParam,
    costMacro: d.costMacro,
    // Rows left blank are dropped; an empty macro is the api's "unknown" (REPLACE on the link).
    trackingFields: d.trackingFields
      .filter((f) => f.name.trim() !== "" || f.param.trim() !== "")
      .map((f) => (f.macro?.trim() ? f : { name: f.name, param: f.param })),
  };
}

const macroHint = (value: string | null) =>
  value === null
    ? "unknown: the entrance link shows REPLACE"
    : value === ""
      ? "left off the link"
      : undefined;

/** The form's fields; the screen owns the draft and the submit. */
export function TrafficSourceFields({
  draft,
  onChange,
  templates,
  macros,
}: {
  draft: TrafficSourceDraft;
  onChange: (draft: TrafficSourceDraft) => void;
  templates: readonly Template[];
  macros: RouterOutputs["trackingCodes"]["macros"] | undefined;
}) {
  const set = (patch: Partial<TrafficSourceDraft>) => onChange({ ...draft, ...patch });
  const macroField = (label: string, key: "externalMacro" | "campaignMacro" | "costMacro") => (
    <Field
      label={label}
      value={draft[key] ?? ""}
      hint={macroHint(draft[key])}
      onChange={(e) => set({ [key]: e.target.value === "" ? null : e.target.value })}
    />
  );
  return (
    <>
      <Select
        label="Template"
        value={draft.template}
        onChange={(e) => {
          const previous = templates.find((t) => t.key === draft.template);
          onChange(
            pickTemplate(
              draft,
              previous,
              templates.find((t) => t.key === e.target.value),
            ),
          );
        }}
        options={[
          { value: "", label: "Custom" },
          ...templates.map((t) => ({ value: t.key, label: t.label })),
        ]}
      />
      <Field label="Name" value={draft.name} onChange={(e) => set({ name: e.target.value })} required />
      <UrlField
        label="Postback URL"
        kind="trafficSourcePostback"
        macros={macros}
        extra={draft.trackingFields.map((f) => f.name)}
        placeholder="https://network.example/pb?click_id={external}&payout={payout}"
        value={draft.postbackUrl}
        onChange={(postbackUrl) => set({ postbackUrl })}
      />
      <Field
        label="Click ID parameter"
        value={draft.externalParam}
        onChange={(e) => set({ externalParam: e.target.value })}
      />
      {macroField("Click ID macro", "externalMacro")}
      <Field
        label="Cost parameter"
        value={draft.costParam}
        onChange={(e) => set({ costParam: e.target.value })}
      />
      {macroField("Cost macro", "costMacro")}
      <Field
        label="Campaign parameter"
        value={draft.campaignParam}
        onChange={(e) => set({ campaignParam: e.target.value })}
      />
      {macroField("Campaign macro", "campaignMacro")}
      <div className="md:col-span-3">
        <TrackingFieldsEditor
          value={draft.trackingFields}
          onChange={(trackingFields) =>
            set({ trackingFields: trackingFields.map((f) => ({ ...f, macro: f.macro ?? "" })) })
          }
        />
      </div>
    </>
  );
}
