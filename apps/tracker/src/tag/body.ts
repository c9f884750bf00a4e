import { readIdField } from "@hitrail/core";
import { badRequest } from "../click/errors.ts";

// The tag's request bodies, read by hand: they are small, every field is optional text or an ID,
// and each problem must come back as one plain sentence the page's console shows.

export const MAX_TAG_URL = 2048;
export const MAX_EVENT_NAME = 128;

export type TagBody = Record<string, unknown>;

/** The body as an object; anything else (an array, a number, nothing) is a 400. */
export function tagBody(raw: unknown): TagBody {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw badRequest("the body must be a JSON object");
  }
  return raw as TagBody;
}

/** Text the page sent: numbers are accepted as their text (`{rev: 5}`), anything else is absent. */
export function text(body: TagBody, name: string, max: number): string | null {
  const raw = Object.hasOwn(body, name) ? body[name] : undefined;
  if (raw === undefined || raw === null) return null;
  const value = typeof raw === "number" && Number.isFinite(raw) ? String(raw) : raw;
  if (typeof value !== "string") throw badRequest(`${name} must be text`);
  if (value.length > max) throw badRequest(`${name} is longer than ${max} characters`);
  return value;
}

/**
 * An ID field: null when absent, empty or an unreplaced macro (`{vid}` on a page that was not
 * linked through us), a 400 naming the field when it is something else that is not an ID.
 */
export function id(body: TagBody, name: string): string | null {
  const raw = text(body, name, 200);
  const read = readIdField(name, raw ?? undefined);
  if (read.kind === "invalid") throw badRequest(read.reason);
  return read.kind === "id" ? read.id : null;
}

export function requiredId(body: TagBody, name: string, noun: string): string {
  const value = id(body, name);
  if (value === null) throw badRequest(`${name} (the ${noun} ID) is required`);
  return value;
}

/** A nested object (`current`), or an empty one when absent. */
export function object(body: TagBody, name: string): TagBody {
  const raw = Object.hasOwn(body, name) ? body[name] : undefined;
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw badRequest(`${name} must be an object`);
  return raw as TagBody;
}
