import { isUnreplacedMacro, quoteValue } from "./money.ts";

const DASHED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Some networks strip punctuation from sub IDs; the 32 hex digits are still unambiguous.
const BARE = /^[0-9a-f]{32}$/i;

/** The canonical (lowercase, dashed) form of a UUID of any version, or null when it is not one. */
export function normalizeUuid(raw: string): string | null {
  const v = raw.trim();
  if (DASHED.test(v)) return v.toLowerCase();
  if (BARE.test(v)) {
    const h = v.toLowerCase();
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  return null;
}

export function isUuid(raw: string): boolean {
  return normalizeUuid(raw) !== null;
}

/** What a received text parameter turned out to be once emptiness and macros are set aside. */
export type FieldRead =
  | { kind: "absent" }
  | { kind: "macro"; raw: string }
  | { kind: "value"; value: string };

/**
 * Reads one received parameter: missing and empty are absent, an unreplaced macro is reported as
 * such (the caller notes it), anything else is the trimmed value.
 */
export function readField(raw: unknown): FieldRead {
  if (typeof raw !== "string") return { kind: "absent" };
  const v = raw.trim();
  if (v === "") return { kind: "absent" };
  if (isUnreplacedMacro(v)) return { kind: "macro", raw: v };
  return { kind: "value", value: v };
}

export type IdRead =
  | { kind: "absent"; macro: string | null }
  | { kind: "id"; id: string }
  | { kind: "invalid"; reason: string };

const ID_NOUNS: Record<string, string> = { hit: "hit ID", vid: "visitor ID", p: "page ID" };

/** Reads a hit, vid or p parameter: absent (maybe because of a macro), a UUID, or a named error. */
export function readIdField(field: string, raw: unknown): IdRead {
  const read = readField(raw);
  if (read.kind === "absent") return { kind: "absent", macro: null };
  if (read.kind === "macro") return { kind: "absent", macro: read.raw };
  const id = normalizeUuid(read.value);
  if (id !== null) return { kind: "id", id };
  const noun = ID_NOUNS[field] ?? `${field} ID`;
  return { kind: "invalid", reason: `${field} ${quoteValue(read.value)} is not a valid ${noun}` };
}

// Postgres text cannot hold NUL, and control characters in an ID are always a sender's bug.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

export function hasControlCharacters(v: string): boolean {
  return CONTROL.test(v);
}
