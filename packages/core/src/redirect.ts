import type { PageKind } from "./visitor.ts";

// Seed: the visitor ID — "We always return this in our JS response, add it automatically to
// redirect destinations, and try to automatically pass it into action links."

/** The parameter the visitor ID travels under when a workspace names none. */
export const DEFAULT_VISITOR_ID_PARAM = "vid";
export const MAX_VISITOR_ID_PARAM_LENGTH = 40;

// The tag adds `hit` and `n` to the page URL and action links itself: the visitor ID under one of
// those names would be overwritten by, or overwrite, another ID.
const RESERVED = new Set(["hit", "n"]);
const NAME = /^[A-Za-z0-9_.-]+$/;

/** Why a name cannot be the visitor ID's parameter, or null when it can. */
export function visitorIdParamProblem(name: string): string | null {
  if (name === "") return "must not be empty";
  if (name.length > MAX_VISITOR_ID_PARAM_LENGTH) {
    return `must be at most ${MAX_VISITOR_ID_PARAM_LENGTH} characters`;
  }
  if (!NAME.test(name)) return "may only contain letters, digits, '_', '.' and '-'";
  if (RESERVED.has(name.toLowerCase())) return `'${name}' is used by the tag itself; choose another name`;
  return null;
}

export interface RedirectPage {
  kind: PageKind;
  /** The page lets the visitor ID be appended (offers can opt out; landers always do). */
  passVisitorId: boolean;
}

/**
 * The parameter the redirect appends the visitor ID under, or null for none: every lander and offer
 * gets it (so a tagged page on any origin continues the visitor), unless the offer opted out for a
 * network that refuses unknown parameters. External URLs leave the funnel and carry no tag; they
 * get `{vid}` only where their template asks for it.
 */
export function redirectVisitorParam(page: RedirectPage, paramName: string): string | null {
  if (page.kind !== "lander" && page.kind !== "offer") return null;
  if (page.kind === "offer" && !page.passVisitorId) return null;
  return visitorIdParamProblem(paramName) === null ? paramName : DEFAULT_VISITOR_ID_PARAM;
}
