import { readField } from "../ids.ts";
import { quoteValue } from "../money.ts";

// When a conversion happened. Networks often fire hours late or retry, and some say when the sale
// was made: `ts` as unix seconds (or milliseconds) or ISO-8601. Without one, the moment we received
// it. Either way never in the future and never before the visit that earned it: a clock that is
// off is corrected (and said so), never a reason to lose the conversion.

export type ConversionTimeParse =
  | { kind: "absent"; macro: string | null }
  | { kind: "value"; at: number }
  | { kind: "invalid"; reason: string };

/** Earliest accepted time: 2000-01-01. Anything before is a unit mistake, not a conversion. */
const EARLIEST = Date.UTC(2000, 0, 1);

export function parseConversionTime(raw: unknown): ConversionTimeParse {
  const read = readField(raw);
  if (read.kind === "absent") return { kind: "absent", macro: null };
  if (read.kind === "macro") return { kind: "absent", macro: read.raw };
  const v = read.value.trim();
  let at: number;
  if (/^\d{9,11}(\.\d+)?$/.test(v)) at = Math.round(Number(v) * 1000);
  else if (/^\d{12,14}$/.test(v)) at = Number(v);
  else if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) {
    // No zone means UTC: networks that leave it out almost always mean it.
    const iso = v.replace(" ", "T");
    const zoned = /T.*(Z|[+-]\d{2}:?\d{2})$/.test(iso) || !iso.includes("T") ? iso : `${iso}Z`;
    at = Date.parse(zoned.includes("T") ? zoned : `${zoned}T00:00:00Z`);
  } else {
    return { kind: "invalid", reason: `ts ${quoteValue(v)} is not unix seconds or an ISO-8601 time` };
  }
  if (!Number.isFinite(at)) return { kind: "invalid", reason: `ts ${quoteValue(v)} is not a valid time` };
  if (at < EARLIEST) return { kind: "invalid", reason: `ts ${quoteValue(v)} is before the year 2000` };
  return { kind: "value", at };
}

export interface ConversionTimeDecision {
  at: number;
  note: string | null;
}

/**
 * The conversion's time: the one sent when there is one, else when it was received; moved to the
 * receive time when it lies in the future and to the visit's time when it lies before the visit.
 */
export function decideConversionTime(input: {
  requested: number | null;
  receivedAt: number;
  hitAt: number;
}): ConversionTimeDecision {
  const { requested, receivedAt, hitAt } = input;
  if (requested === null) return { at: Math.max(receivedAt, hitAt), note: null };
  if (requested > receivedAt) {
    return {
      at: Math.max(receivedAt, hitAt),
      note: `ts ${new Date(requested).toISOString()} is in the future: the time it was received is used`,
    };
  }
  if (requested < hitAt) {
    return {
      at: hitAt,
      note: `ts ${new Date(requested).toISOString()} is before its visit: the visit's time is used`,
    };
  }
  return { at: requested, note: null };
}
