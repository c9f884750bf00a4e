import { CLICK_TOKENS } from "./tokens.ts";

// Which `{macro}` a URL field may use, and what to say when one is mistyped. A typo like `{payot}`
// is otherwise kept as written and sent literally to the network, where it can never match.
//
// What counts as one of our macros depends on who fills the URL in:
// - page URLs (offers, landers) and traffic-source postback URLs are filled by us, so every `{name}`
//   in them must be one of ours (or a tracking field's name);
// - an offer source's postback template is filled by the *network* (`#s2#`, `{sub1}`, `[tid]`): its
//   macros are the network's and cannot be checked; what is ours there are the `/pb/` parameter
//   names (`hit=`, `tx=`, `rev=`, …), and those are checked instead;
// - the macros a traffic source puts on its entrance link (`${SUBID}`, `{{ad.id}}`, `__CID__`) are
//   the network's too, and are never checked.

export interface MacroInfo {
  name: string;
  description: string;
}

const CLICK_DESCRIPTIONS: Record<(typeof CLICK_TOKENS)[number], string> = {
  hit: "this visit's hit ID: pass it to the network, it comes back in the postback",
  vid: "the visitor ID (one per session)",
  external: "the traffic source's click ID from the entrance link",
  campaign: "the traffic source's campaign from the entrance link",
  cost: "the cost of the click from the entrance link",
  funnel: "the funnel ID",
  node: "the funnel node ID",
  page: "the page ID (p)",
  trafficsource: "the traffic source ID",
  country: "the visitor's country (ISO code)",
  device: "the visitor's device type",
  os: "the visitor's operating system",
  browser: "the visitor's browser",
};

/** Macros the tracker fills in offer and lander URLs on every click. */
export const PAGE_MACROS: readonly MacroInfo[] = CLICK_TOKENS.map((name) => ({
  name,
  description: CLICK_DESCRIPTIONS[name],
}));

/** Macros the worker fills in a traffic source's postback URL (tracking fields come on top). */
export const TRAFFIC_SOURCE_POSTBACK_MACROS: readonly MacroInfo[] = [
  { name: "external", description: "the click ID the traffic source sent on the entrance link" },
  { name: "payout", description: "the conversion's revenue" },
  { name: "revenue", description: "the conversion's revenue (same as payout)" },
  { name: "tx", description: "the transaction ID, when the network sent one" },
  { name: "status", description: "approved, pending or rejected" },
  { name: "event", description: "conversion, or the custom event's alias" },
  { name: "hit", description: "the converting hit's ID" },
  { name: "vid", description: "the visitor ID" },
  { name: "funnel", description: "the funnel ID" },
  { name: "cost", description: "the click's cost from the entrance link" },
  { name: "currency", description: "the workspace's currency (ISO 4217)" },
];

/** Parameters `/pb/` reads; an offer source's postback template may name these (and its own status/time parameters). */
export const POSTBACK_PARAMS: readonly MacroInfo[] = [
  { name: "hit", description: "the hit ID we passed to the network" },
  { name: "vid", description: "the visitor ID (instead of hit)" },
  { name: "p", description: "the page ID, with vid" },
  { name: "tx", description: "the network's transaction ID" },
  { name: "rev", description: "the revenue (none: the offer's default payout)" },
  { name: "status", description: "the network's status word" },
  { name: "e", description: "a custom event's alias" },
  { name: "ts", description: "when the conversion happened" },
  { name: "disable_postbacks", description: "true: tell no traffic source" },
  { name: "key", description: "the workspace's postback secret" },
];

/** A `{...}` in a URL: anything between braces without braces or whitespace inside. */
const MACRO = /\{([^{}\s]*)\}/g;

/** The macro names a template uses, as written, once each (in order). */
export function macroNames(template: string): string[] {
  const seen = new Set<string>();
  const names: string[] = [];
  for (const m of template.matchAll(MACRO)) {
    const name = m[1] ?? "";
    if (seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    names.push(name);
  }
  return names;
}

/** Optimal string alignment distance (Levenshtein plus swapped neighbours), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) =>
    Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? 0;
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      (d[i] as number[])[j] = best;
    }
  }
  return at(x.length, y.length);
}

/**
 * The known name closest to `name`, when one is close enough to be what was meant: within a third
 * of the longer name's length (at least 1, at most 3 edits). Ties go to the earlier name in `known`.
 */
export function nearestName(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    const allowed = Math.min(3, Math.max(1, Math.floor(Math.max(name.length, candidate.length) / 3)));
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

export interface MacroProblem {
  /** The macro as written, without braces. */
  name: string;
  /** The known name it most likely meant, if any. */
  suggestion: string | null;
  message: string;
}

/**
 * The macros of a URL template that are not in `known` (compared case-insensitively, as
 * substitution does), each with the nearest known name. Empty when every macro is known.
 */
export function unknownMacros(template: string, known: readonly string[]): MacroProblem[] {
  const lower = new Set(known.map((k) => k.toLowerCase()));
  const problems: MacroProblem[] = [];
  for (const name of macroNames(template)) {
    if (name !== "" && lower.has(name.toLowerCase())) continue;
    const suggestion = name === "" ? null : nearestName(name, known);
    const what = name === "" ? "{} is not a macro" : `{${name}} is not a known macro`;
    problems.push({
      name,
      suggestion,
      message: suggestion
        ? `${what}: did you mean {${suggestion}}?`
        : `${what}; known macros: ${known.map((k) => `{${k}}`).join(", ")}`,
    });
  }
  return problems;
}

/**
 * The query parameter names of an offer source's postback template that `/pb/` does not read, each
 * with the nearest one it does. `extra` are the offer source's own status and time parameters.
 */
export function unknownPostbackParams(template: string, extra: readonly string[] = []): MacroProblem[] {
  const known = [...POSTBACK_PARAMS.map((p) => p.name), ...extra];
  const exact = new Set(known);
  // Network macros like #s2# are not fragments, so the query runs to the end of the template.
  const queryAt = template.indexOf("?");
  const query = queryAt === -1 ? "" : template.slice(queryAt + 1);
  const problems: MacroProblem[] = [];
  const seen = new Set<string>();
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const name = pair.split("=", 1)[0] ?? "";
    // /pb/ reads parameter names exactly: `HIT=` is as lost as `htt=`.
    if (exact.has(name) || seen.has(name)) continue;
    seen.add(name);
    const suggestion = nearestName(name, known);
    problems.push({
      name,
      suggestion,
      message: suggestion
        ? `parameter '${name}' is not read by the postback endpoint: did you mean '${suggestion}'?`
        : `parameter '${name}' is not read by the postback endpoint; it reads ${known.join(", ")}`,
    });
  }
  return problems;
}
