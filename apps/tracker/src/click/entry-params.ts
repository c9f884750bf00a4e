import { parseRevenue, readField, type VisitorSession } from "@hitrail/core";

// Pure rules for what an entrance link carries. They belong with the other rules in @hitrail/core;
// they live here until core grows them (core was being finished while this was written).

export type Entry = VisitorSession["entry"];

/** The traffic-source settings that say which query parameters carry its data. */
export interface TrafficSourceParams {
  id: string;
  externalParam: string;
  campaignParam: string;
  costParam: string;
  trackingFields: ReadonlyArray<{ name: string; param: string }>;
}

export const MAX_TRACKING_FIELDS = 20;
export const MAX_TEXT = 1024;
export const MAX_FIELD = 512;

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/g;

/** Postgres text holds no NUL and control characters are never meaningful in a click ID or sub ID. */
export function cleanText(value: string, max: number): string {
  return value.replace(CONTROL, "").slice(0, max);
}

/** A query string as one string per name (the first of repeated names), with nothing inherited. */
export function queryRecord(raw: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (raw === null || typeof raw !== "object") return out;
  // for…in, not Object.entries: this runs on every click, and the entries array (a pair per
  // parameter) was its largest cost.
  const query = raw as Record<string, unknown>;
  for (const name in query) {
    if (!Object.hasOwn(query, name)) continue;
    const value = query[name];
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === "string") out[name] = first;
  }
  return out;
}

function text(query: Record<string, string>, param: string, max: number): string | null {
  const read = readField(Object.hasOwn(query, param) ? query[param] : undefined);
  // An unreplaced macro ("{clickid}") means the source sent nothing.
  if (read.kind !== "value") return null;
  const v = cleanText(read.value, max);
  return v === "" ? null : v;
}

/**
 * The entry data of a visit: the source's click ID, campaign, cost and named tracking fields, read
 * from the parameters the traffic source is set up with. A cost that is no amount is dropped, not
 * refused (the visitor must still get through); `notes` says what was dropped.
 */
export function readEntryParams(
  ts: TrafficSourceParams | null,
  query: Record<string, string>,
): { entry: Entry; notes: string[] } {
  const notes: string[] = [];
  if (ts === null) {
    return {
      entry: { trafficSourceId: null, externalId: null, campaign: null, cost: null, fields: {} },
      notes,
    };
  }
  let cost: string | null = null;
  const rawCost = text(query, ts.costParam, 64);
  if (rawCost !== null) {
    const parsed = parseRevenue(rawCost);
    if (parsed.kind === "value" && !parsed.value.startsWith("-")) cost = parsed.value;
    else notes.push(`cost '${rawCost}' is not an amount; recorded without cost`);
  }
  const fields: Record<string, string> = {};
  for (const field of ts.trackingFields.slice(0, MAX_TRACKING_FIELDS)) {
    const v = text(query, field.param, MAX_FIELD);
    if (v !== null) fields[field.name] = v;
  }
  return {
    entry: {
      trafficSourceId: ts.id,
      externalId: text(query, ts.externalParam, MAX_TEXT),
      campaign: text(query, ts.campaignParam, MAX_TEXT),
      cost,
      fields,
    },
    notes,
  };
}
