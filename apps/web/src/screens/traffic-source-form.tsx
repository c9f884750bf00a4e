import type { RouterInputs, RouterOutputs } from "../trpc.ts";

// The traffic source form's state, apart from the screen (objects.tsx draws the fields): a template
// fills every field it knows, and picking another template (or Custom) first takes back everything
// the previous one set, so a Facebook source switched to Custom does not keep `fbclid`.

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
