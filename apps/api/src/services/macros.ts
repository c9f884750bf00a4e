import {
  type MacroInfo,
  type MacroProblem,
  PAGE_MACROS,
  POSTBACK_PARAMS,
  TRAFFIC_SOURCE_POSTBACK_MACROS,
  unknownMacros,
  unknownPostbackParams,
} from "@hitrail/core";
import { type Executor, listTrackingFieldNames } from "@hitrail/db";
import { badRequest } from "../errors.ts";

// The macro checks of every URL field, as the services call them: core decides which macros are
// unknown; here the workspace's tracking fields are added to what is known and the refusal is worded.

/** Macros an offer or lander URL may use: core's click macros and every tracking field's name. */
export async function pageMacros(tx: Executor, workspaceId: string): Promise<MacroInfo[]> {
  const fields = await listTrackingFieldNames(tx, { workspaceId });
  const known = new Set(PAGE_MACROS.map((m) => m.name.toLowerCase()));
  const out: MacroInfo[] = [...PAGE_MACROS];
  for (const field of fields) {
    if (known.has(field.name.toLowerCase())) continue;
    known.add(field.name.toLowerCase());
    out.push({ name: field.name, description: `tracking field of ${field.trafficSource}` });
  }
  return out;
}

/** Macros a traffic source's postback URL may use: core's postback macros and its own tracking fields. */
export function trafficSourcePostbackMacros(trackingFields: ReadonlyArray<{ name: string }>): MacroInfo[] {
  return [
    ...TRAFFIC_SOURCE_POSTBACK_MACROS,
    ...trackingFields.map((f) => ({ name: f.name, description: "this source's tracking field" })),
  ];
}

/** Parameters an offer source's postback template may name: /pb/'s own and the source's status/time ones. */
export function offerSourcePostbackParams(source: {
  statusParam?: string | null;
  conversionTimeParam?: string | null;
}): MacroInfo[] {
  const extra: MacroInfo[] = [];
  if (source.statusParam && !POSTBACK_PARAMS.some((p) => p.name === source.statusParam))
    extra.push({ name: source.statusParam, description: "this source's status parameter" });
  if (source.conversionTimeParam && !POSTBACK_PARAMS.some((p) => p.name === source.conversionTimeParam))
    extra.push({ name: source.conversionTimeParam, description: "this source's conversion time parameter" });
  return [...POSTBACK_PARAMS, ...extra];
}

function refuse(label: string, problems: MacroProblem[]): never {
  const messages = problems.map((p) => `${label}: ${p.message}`);
  throw badRequest(
    messages.join("; "),
    problems.map((p) => ({ field: label, macro: p.name, suggestion: p.suggestion, message: p.message })),
  );
}

/** Refuses a URL template using a `{macro}` not in `known`, naming the field by its label. */
export function requireKnownMacros(label: string, url: string | null | undefined, known: MacroInfo[]): void {
  if (!url) return;
  const problems = unknownMacros(
    url,
    known.map((m) => m.name),
  );
  if (problems.length > 0) refuse(label, problems);
}

/** Refuses an offer source's postback template naming a parameter `/pb/` does not read. */
export function requireKnownPostbackParams(
  label: string,
  template: string | null | undefined,
  known: MacroInfo[],
): void {
  if (!template) return;
  const core = new Set(POSTBACK_PARAMS.map((p) => p.name));
  const problems = unknownPostbackParams(
    template,
    known.map((m) => m.name).filter((n) => !core.has(n)),
  );
  if (problems.length > 0) refuse(label, problems);
}
