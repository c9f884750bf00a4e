import { UUID, uuidv7 } from "uuidv7";

/** A new time-sortable id (UUIDv7). Hits use it so lookups by id prune time partitions. */
export function newId(): string {
  return uuidv7();
}

/** A UUIDv7 for a given moment (back-dated hits in tests and imports; spool replay keeps original ids). */
export function newIdAt(at: Date | number): string {
  const ms = typeof at === "number" ? at : at.getTime();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let t = ms;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = t % 256;
    t = Math.floor(t / 256);
  }
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  return UUID.ofInner(bytes).toString();
}

/** The millisecond timestamp a UUIDv7 was minted at. */
export function idTime(id: string): number {
  return Number.parseInt(id.replace(/-/g, "").slice(0, 12), 16);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}
