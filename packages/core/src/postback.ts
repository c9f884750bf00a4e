import { statusWordOf } from "./conversion/status.ts";
import { parseConversionTime } from "./conversion/time.ts";
import { hasControlCharacters, readField, readIdField } from "./ids.ts";
import { parseConversionRevenue, quoteValue, type Revenue } from "./money.ts";
import type { ConversionTarget } from "./visitor.ts";

export const MAX_TX_LENGTH = 255;
export const MAX_EVENT_ALIAS_LENGTH = 128;
export const MAX_KEY_LENGTH = 255;
export const MAX_STATUS_LENGTH = 64;

export interface PostbackRequest {
  target: ConversionTarget;
  /** Transaction ID: the same (hit, tx) again updates; another tx on the same hit is another conversion. */
  tx: string | null;
  revenue: Revenue;
  /** The status word as understood (trimmed, lowercase), or null when none was sent. */
  statusWord: string | null;
  /**
   * The status exactly as sent (trimmed). It is classified once the hit is known, with its offer
   * source's status map (applyConversion); `rev=-1` is read there too.
   */
  rawStatus: string | null;
  disablePostbacks: boolean;
  eventAlias: string | null;
  /** When the network says the conversion happened (`ts`), epoch ms; null: when we received it. */
  conversionTime: number | null;
  key: string | null;
  /** Things worth showing in the postback log that did not stop the conversion. */
  notes: string[];
}

export type PostbackParse =
  | { ok: true; request: PostbackRequest }
  | { ok: false; code: "bad_request"; reason: string; field?: string };

const TRUE_WORDS = new Set(["true", "1", "yes", "on"]);

function bad(reason: string, field?: string): PostbackParse {
  return field === undefined
    ? { ok: false, code: "bad_request", reason }
    : { ok: false, code: "bad_request", reason, field };
}

type TextRead = { ok: true; value: string | null } | { ok: false; reason: string };

// Free-text fields end up in Postgres text columns: bounded, and without NUL or control characters.
function readText(field: string, raw: unknown, max: number, notes: string[]): TextRead {
  const read = readField(raw);
  if (read.kind === "absent") return { ok: true, value: null };
  if (read.kind === "macro") {
    notes.push(`unreplaced macro in ${field}: ${quoteValue(read.raw)}`);
    return { ok: true, value: null };
  }
  if (read.value.length > max) return { ok: false, reason: `${field} is longer than ${max} characters` };
  if (hasControlCharacters(read.value)) {
    return { ok: false, reason: `${field} ${quoteValue(read.value)} contains control characters` };
  }
  return { ok: true, value: read.value };
}

function param(params: Readonly<Record<string, unknown>>, name: string): unknown {
  // Own properties only: a record built from a query string may be a plain object with a prototype.
  return Object.hasOwn(params, name) ? params[name] : undefined;
}

/**
 * Validates the raw parameters of a `/pb/` request (query, form or JSON, flattened by the app; for a
 * repeated parameter the app passes the first). Never throws: bad input is a `bad_request` whose reason
 * is shown to the user and logged.
 */
export function parsePostback(params: Readonly<Record<string, string | undefined>>): PostbackParse {
  const notes: string[] = [];

  const hit = readIdField("hit", param(params, "hit"));
  if (hit.kind === "invalid") return bad(hit.reason, "hit");
  if (hit.kind === "absent" && hit.macro !== null)
    notes.push(`unreplaced macro in hit: ${quoteValue(hit.macro)}`);

  let target: ConversionTarget;
  const rawVid = param(params, "vid");
  const rawP = param(params, "p");
  if (hit.kind === "id") {
    // Seed: "don't pass both"; when a network does, the hit is the more precise of the two.
    if (readField(rawVid).kind === "value") notes.push("hit and vid both given: hit wins");
    else if (readField(rawP).kind === "value") notes.push("p ignored: hit given");
    target = { by: "hit", hitId: hit.id };
  } else {
    const vid = readIdField("vid", rawVid);
    if (vid.kind === "invalid") return bad(vid.reason, "vid");
    if (vid.kind === "absent" && vid.macro !== null) {
      notes.push(`unreplaced macro in vid: ${quoteValue(vid.macro)}`);
    }
    if (vid.kind === "absent") {
      const macros = [
        hit.macro === null ? null : `hit was the unreplaced macro ${quoteValue(hit.macro)}`,
        vid.macro === null ? null : `vid was the unreplaced macro ${quoteValue(vid.macro)}`,
      ].filter((m) => m !== null);
      const why = macros.length > 0 ? ` (${macros.join(", ")})` : "";
      return bad(`hit or vid is required${why}`, "hit");
    }
    const p = readIdField("p", rawP);
    if (p.kind === "invalid") return bad(p.reason, "p");
    if (p.kind === "absent" && p.macro !== null) {
      notes.push(`unreplaced macro in p: ${quoteValue(p.macro)}; using the visitor's last offer`);
    }
    target = { by: "visitor", visitorId: vid.id, pageId: p.kind === "id" ? p.id : null };
  }

  const tx = readText("tx", param(params, "tx"), MAX_TX_LENGTH, notes);
  if (!tx.ok) return bad(tx.reason, "tx");

  const rawRev = param(params, "rev");
  const rev = parseConversionRevenue(typeof rawRev === "string" ? rawRev : undefined);
  if (rev.kind === "invalid") return bad(rev.reason, "rev");
  const revRead = readField(rawRev);
  if (revRead.kind === "macro") notes.push(`unreplaced macro in rev: ${quoteValue(revRead.raw)}`);

  const statusText = readText("status", param(params, "status"), MAX_STATUS_LENGTH, notes);
  if (!statusText.ok) return bad(statusText.reason, "status");

  const disable = readField(param(params, "disable_postbacks"));
  const disablePostbacks = disable.kind === "value" && TRUE_WORDS.has(disable.value.toLowerCase());

  const eventAlias = readText("e", param(params, "e"), MAX_EVENT_ALIAS_LENGTH, notes);
  if (!eventAlias.ok) return bad(eventAlias.reason, "e");

  const key = readText("key", param(params, "key"), MAX_KEY_LENGTH, notes);
  if (!key.ok) return bad(key.reason, "key");

  const ts = parseConversionTime(param(params, "ts"));
  if (ts.kind === "invalid") return bad(ts.reason, "ts");
  if (ts.kind === "absent" && ts.macro !== null) {
    notes.push(`unreplaced macro in ts: ${quoteValue(ts.macro)}; using the time it was received`);
  }

  return {
    ok: true,
    request: {
      target,
      tx: tx.value,
      revenue: rev,
      statusWord: statusWordOf(statusText.value),
      rawStatus: statusText.value,
      disablePostbacks,
      eventAlias: eventAlias.value,
      conversionTime: ts.kind === "value" ? ts.at : null,
      key: key.value,
      notes,
    },
  };
}
