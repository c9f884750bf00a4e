import type { ImportMapping } from "@hitrail/db";

/** The fields an import row may carry: the postback's parameters, plus the traffic source's click id. */
export const IMPORT_FIELDS = [
  {
    key: "hit",
    label: "Hit ID",
    guesses: ["hit", "hit_id", "hitid", "click", "clickid", "click_id", "subid", "sub_id"],
  },
  {
    key: "external",
    label: "External click ID",
    guesses: ["external", "external_id", "externalid", "ext_id"],
  },
  { key: "vid", label: "Visitor ID", guesses: ["vid", "visitor", "visitor_id", "visitorid"] },
  { key: "p", label: "Page ID", guesses: ["p", "page", "page_id", "pageid"] },
  {
    key: "tx",
    label: "Transaction ID",
    guesses: ["tx", "txid", "transaction", "transaction_id", "order_id"],
  },
  { key: "rev", label: "Revenue", guesses: ["rev", "revenue", "payout", "amount", "sum"] },
  { key: "status", label: "Status", guesses: ["status", "state", "conversion_status"] },
  { key: "ts", label: "Conversion time", guesses: ["ts", "time", "timestamp", "date", "conversion_time"] },
  { key: "e", label: "Custom event alias", guesses: ["e", "event", "event_alias"] },
] as const satisfies ReadonlyArray<{ key: keyof ImportMapping; label: string; guesses: readonly string[] }>;

export type ImportField = (typeof IMPORT_FIELDS)[number]["key"];

export const IMPORT_FIELD_KEYS = IMPORT_FIELDS.map((f) => f.key) as ImportField[];

/** A mapping read off a file's header: each field takes the first column named like it. */
export function guessMapping(headers: readonly string[]): ImportMapping {
  const mapping: ImportMapping = {};
  const normal = (h: string) =>
    h
      .trim()
      .toLowerCase()
      .replace(/[\s-]+/g, "_");
  for (const field of IMPORT_FIELDS) {
    const found = headers.find((h) => (field.guesses as readonly string[]).includes(normal(h)));
    if (found !== undefined) mapping[field.key] = found;
  }
  return mapping;
}

/**
 * Why a mapping cannot work with these headers, or null. A row must be able to name its visit:
 * a hit, a click id, or a visitor.
 */
export function mappingProblem(mapping: ImportMapping, headers: readonly string[] | null): string | null {
  for (const field of IMPORT_FIELDS) {
    const column = mapping[field.key];
    if (column !== undefined && headers !== null && !headers.includes(column)) {
      return `${field.label}: the file has no column '${column}' (it has: ${headers.join(", ")})`;
    }
  }
  if (mapping.hit === undefined && mapping.external === undefined && mapping.vid === undefined) {
    return "Hit ID, External click ID or Visitor ID: map at least one column that names the visit";
  }
  return null;
}

/** One row's values under Hitrail's parameter names; empty cells are absent. */
export function mapRow(
  values: Readonly<Record<string, string>>,
  mapping: ImportMapping,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of IMPORT_FIELD_KEYS) {
    const column = mapping[key];
    if (column === undefined) continue;
    const v = values[column];
    if (v !== undefined && v.trim() !== "") out[key] = v.trim();
  }
  return out;
}
