import {
  appendQueryParams,
  CLICK_TOKENS,
  compileTokens,
  encodeComponent,
  fillTokens,
  type PageKind,
  type TokenTemplate,
  urlTemplateProblem,
} from "@hitrail/core";
import type { Entry } from "./entry-params.ts";
import { unroutable } from "./errors.ts";

// Pure rules for where a click is sent. Token substitution and which pages get the visitor ID are
// core's; which values the tracker offers lives here.

export interface DestinationInput {
  template: string;
  pageKind: PageKind;
  hitId: string;
  visitorId: string;
  funnelId: string;
  nodeId: string;
  pageId: string | null;
  entry: Entry;
  /** Tracking fields the traffic source defines: a field that came empty is still a known token. */
  fieldNames: readonly string[];
  visit: { country: string | null; device: string | null; os: string | null; browser: string | null };
  /**
   * The parameter to append the visitor ID under (core's redirectVisitorParam), or null for none.
   * Omitted: none (the tag's token answer works out values only).
   */
  visitorIdParam?: string | null;
}

/** The tokens the tracker fills; a tracking field of the same name never shadows one of these. */
export const TRACKER_TOKENS = CLICK_TOKENS;
type TrackerToken = (typeof TRACKER_TOKENS)[number];
const IS_TRACKER_TOKEN = new Set<string>(TRACKER_TOKENS);

function trackerToken(name: TrackerToken, d: DestinationInput): string | null {
  switch (name) {
    case "hit":
      return d.hitId;
    case "vid":
      return d.visitorId;
    case "external":
      return d.entry.externalId;
    case "campaign":
      return d.entry.campaign;
    case "cost":
      return d.entry.cost;
    case "funnel":
      return d.funnelId;
    case "node":
      return d.nodeId;
    case "page":
      return d.pageId;
    case "trafficsource":
      return d.entry.trafficSourceId;
    case "country":
      return d.visit.country;
    case "device":
      return d.visit.device;
    case "os":
      return d.visit.os;
    case "browser":
      return d.visit.browser;
  }
}

/** Every token a page URL may use, by lower-case name. */
export function tokenValues(d: DestinationInput, only?: readonly string[]): Record<string, string | null> {
  const values: Record<string, string | null> = {};
  const wanted = only ?? [...TRACKER_TOKENS, ...d.fieldNames.map((n) => n.toLowerCase())];
  for (const name of wanted) {
    if (IS_TRACKER_TOKEN.has(name)) {
      values[name] = trackerToken(name as TrackerToken, d);
      continue;
    }
    let value: string | null = null;
    let known = false;
    for (const field of d.fieldNames) {
      if (field.toLowerCase() === name) known = true;
    }
    for (const [field, v] of Object.entries(d.entry.fields)) {
      if (field.toLowerCase() === name) {
        known = true;
        value = v;
      }
    }
    if (known) values[name] = value ?? "";
  }
  return values;
}

interface CompiledTemplate {
  /** The template split at its tokens. */
  template: TokenTemplate;
  /** Lower-case names of the tokens the template uses: only those values are worked out. */
  tokens: string[];
  /** Per parameter name: the template's query already passes it, so nothing is appended. */
  passes: Map<string, boolean>;
  /** Why the template may not be followed (a token in its scheme or host), or null. */
  problem: string | null;
}

const TEMPLATE_CACHE_MAX = 5_000;
const templates = new Map<string, CompiledTemplate>();

// Page URLs are few and every click reuses one, so what can be read from the template alone is
// read once.
function compile(template: string): CompiledTemplate {
  let compiled = templates.get(template);
  if (compiled === undefined) {
    const split = compileTokens(template);
    const tokens = [...new Set(split.tokens.map((t) => t.key))];
    compiled = { template: split, tokens, passes: new Map(), problem: urlTemplateProblem(template) };
    if (templates.size >= TEMPLATE_CACHE_MAX) templates.clear();
    templates.set(template, compiled);
  }
  return compiled;
}

// Substitution encodes every value, so it cannot add or remove a parameter name: whether the URL
// passes the visitor ID is the template's to say.
function passes(compiled: CompiledTemplate, template: string, name: string): boolean {
  let known = compiled.passes.get(name);
  if (known === undefined) {
    known = appendQueryParams(template, { [name]: "" }) === template;
    // A workspace has one name at a time; a few renames never grow this much.
    if (compiled.passes.size < 8) compiled.passes.set(name, known);
  }
  return known;
}

/**
 * The Location a click is sent to: tokens substituted (URL-encoded, unknown ones left as written),
 * and the visitor ID appended under the workspace's parameter unless the URL already passes it
 * (seed: "add it automatically to redirect destinations"), so a tagged page on any origin continues
 * the visitor.
 * A template with a token in its scheme or host is a 422 (logged by the app's error handler).
 */
export function destinationUrl(d: DestinationInput): { url: string; unknownTokens: string[] } {
  const compiled = compile(d.template);
  // Saved templates are checked by the api; one stored before that rule (or written around it) is
  // refused here, before any hit is written: a token in the host would let the link choose the
  // destination.
  if (compiled.problem !== null) {
    throw unroutable(
      `the page's URL template ${JSON.stringify(d.template)} cannot be used: ${compiled.problem}`,
    );
  }
  const { url, unknown } = fillTokens(compiled.template, tokenValues(d, compiled.tokens));
  const name = d.visitorIdParam ?? null;
  const withVid =
    name !== null && !passes(compiled, d.template, name)
      ? appendQueryParams(url, { [name]: d.visitorId })
      : url;
  return { url: safeLocation(withVid), unknownTokens: unknown };
}

const UNSAFE = /[^\x21-\x7e]/;
const UNSAFE_ALL = /[^\x21-\x7e]/gu;

/**
 * Percent-encodes what a user typed into a page URL that cannot travel in a header (spaces,
 * non-ASCII): Node refuses such a Location outright, which would turn a click into a 500.
 */
export function safeLocation(url: string): string {
  const trimmed = url.trim();
  return UNSAFE.test(trimmed) ? trimmed.replace(UNSAFE_ALL, (c) => encodeComponent(c)) : trimmed;
}
