// Which stored conversion a postback writes to. Seed: "the same (hit, tx) again updates that
// conversion"; another tx on the same hit is another conversion; a repeat without tx updates, never
// doubles. A custom event on the hit is its own identity, so a lead never overwrites the sale.

/** The conversion event key used when no custom event is named. */
export const CONVERSION_EVENT_KEY = "conversion";

export interface ConversionIdentity {
  hitId: string;
  eventKey: string;
  tx: string | null;
  /** One unambiguous string for locks, dedupe keys and maps. */
  key: string;
}

/**
 * Seed: "the same (hit, tx) again updates that conversion"; another tx on the same hit is another
 * conversion; a repeat without tx updates, never doubles.
 */
export function conversionIdentity(
  hitId: string,
  eventKey: string | null,
  tx: string | null,
): ConversionIdentity {
  const event = eventKey ?? CONVERSION_EVENT_KEY;
  const hit = hitId.toLowerCase();
  // tx goes last and unescaped: everything before it is escaped, so no tx can fake another identity.
  const key = `${encodeURIComponent(hit)}/${encodeURIComponent(event)}/${tx === null ? "-" : `=${tx}`}`;
  return { hitId: hit, eventKey: event, tx, key };
}

/**
 * The identity as one string across workspaces (a group-commit batch spans them): the workspace, then
 * the identity's key. `eventKey` is the custom event type's id, or null/"" for the conversion itself.
 */
export function workspaceIdentityKey(
  workspaceId: string,
  hitId: string,
  eventKey: string | null,
  tx: string | null,
): string {
  return `${workspaceId}|${conversionIdentity(hitId, eventKey === "" ? null : eventKey, tx).key}`;
}
