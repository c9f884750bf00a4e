// Token substitution for offer/lander URLs ({hit}, {vid}, {external}, …) and traffic-source postback
// templates ({external}, {payout}, {revenue}, {tx}, …). String-based on purpose: the URL class would
// re-encode the user's template and change what the network receives.

const TOKEN = /\{([A-Za-z0-9_.-]+)\}/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** encodeURIComponent that cannot throw: a lone surrogate becomes U+FFFD instead of a URIError. */
export function encodeComponent(value: string): string {
  // A lone surrogate is the one thing encodeURIComponent throws on: only then is the value cleaned.
  // Cleaning every value first (a look-behind regex) cost more than the encoding itself, on every
  // token of every redirect and postback.
  try {
    return encodeURIComponent(value);
  } catch {
    return encodeURIComponent(value.replace(LONE_SURROGATE, "\uFFFD"));
  }
}

export interface SubstitutionResult {
  url: string;
  /** Tokens of the template that `values` does not name, as written, once each. */
  unknown: string[];
}

/**
 * A template split at its tokens once, for one that is filled again and again (a page URL on every
 * click): filling it is a loop over the pieces, where a regular expression with a replacement
 * callback cost a microsecond per token on every redirect.
 */
export interface TokenTemplate {
  /** The text around the tokens: one more than there are tokens. */
  readonly literals: readonly string[];
  /** The template's tokens in order: as written (`{Hit}`), their name (`Hit`) and its lower case. */
  readonly tokens: ReadonlyArray<{ readonly whole: string; readonly name: string; readonly key: string }>;
}

export function compileTokens(template: string): TokenTemplate {
  const literals: string[] = [];
  const tokens: Array<{ whole: string; name: string; key: string }> = [];
  let from = 0;
  for (const m of template.matchAll(TOKEN)) {
    const name = m[1] ?? "";
    literals.push(template.slice(from, m.index));
    tokens.push({ whole: m[0], name, key: name.toLowerCase() });
    from = m.index + m[0].length;
  }
  literals.push(template.slice(from));
  return { literals, tokens };
}

/**
 * Replaces `{name}` tokens (names compared case-insensitively). A named value that is null or missing
 * becomes empty; a token `values` does not name stays as written and is reported in `unknown`.
 * Values are URL-encoded unless `encode` is false.
 */
export function substituteTokens(
  template: string,
  values: Readonly<Record<string, string | null | undefined>>,
  opts: { encode?: boolean } = {},
): SubstitutionResult {
  return fillTokens(compileTokens(template), values, opts);
}

/** substituteTokens for a template compiled once (compileTokens). */
export function fillTokens(
  template: TokenTemplate,
  values: Readonly<Record<string, string | null | undefined>>,
  opts: { encode?: boolean } = {},
): SubstitutionResult {
  const encode = opts.encode ?? true;
  const unknown: string[] = [];
  let unknownSeen: Set<string> | null = null;
  const { literals, tokens } = template;
  let url = literals[0] ?? "";
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as TokenTemplate["tokens"][number];
    // Looked up token by token, not by indexing every value first: a template names a few of the
    // values, and the index (a map of every value's lowercased name) was most of this function's
    // time and memory on every outbound postback.
    const named = namedValue(values, token.key);
    if (named === NOT_NAMED) {
      unknownSeen ??= new Set();
      if (!unknownSeen.has(token.key)) {
        unknownSeen.add(token.key);
        unknown.push(token.name);
      }
      url += token.whole;
    } else {
      const value = named ?? "";
      url += encode ? encodeComponent(value) : value;
    }
    url += literals[i + 1] ?? "";
  }
  return { url, unknown };
}

const NOT_NAMED = Symbol("not named");
const isEnumerable = Object.prototype.propertyIsEnumerable;

/**
 * The value `values` names by this lowercase name: the exactly lowercase key wins, else the first
 * key (in enumeration order) that lowercases to it.
 */
function namedValue(
  values: Readonly<Record<string, string | null | undefined>>,
  key: string,
): string | null | undefined | typeof NOT_NAMED {
  if (isEnumerable.call(values, key)) return values[key];
  for (const name of Object.keys(values)) if (name.toLowerCase() === key) return values[name];
  return NOT_NAMED;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}

/**
 * Adds query parameters to a URL, keeping its fragment and its own parameters. An existing parameter
 * wins unless `overwrite` is set. Works on any string (templates, relative or broken URLs) because it
 * never parses more than "before ?", "query" and "#fragment".
 */
export function appendQueryParams(
  url: string,
  params: Readonly<Record<string, string>>,
  opts: { overwrite?: boolean } = {},
): string {
  const hashAt = url.indexOf("#");
  const beforeHash = hashAt === -1 ? url : url.slice(0, hashAt);
  const fragment = hashAt === -1 ? "" : url.slice(hashAt);
  const queryAt = beforeHash.indexOf("?");
  const base = queryAt === -1 ? beforeHash : beforeHash.slice(0, queryAt);
  const query = queryAt === -1 ? "" : beforeHash.slice(queryAt + 1);

  const nameOf = (pair: string) => safeDecode(pair.split("=", 1)[0] ?? "");
  // A trailing "&" (a template ending in "?a=1&") would otherwise become an empty pair.
  const trimmedQuery = query.replace(/&+$/, "");
  const existing = trimmedQuery === "" ? [] : trimmedQuery.split("&");
  const existingNames = new Set(existing.map(nameOf));
  const entries = Object.entries(params).filter(([name]) => opts.overwrite || !existingNames.has(name));
  if (entries.length === 0) return url;

  const adding = new Set(entries.map(([name]) => name));
  // Pairs are kept byte for byte: only the ones being overwritten go.
  const kept = opts.overwrite ? existing.filter((pair) => !adding.has(nameOf(pair))) : existing;
  const added = entries.map(([name, value]) => `${encodeComponent(name)}=${encodeComponent(value)}`);
  return `${base}?${[...kept, ...added].join("&")}${fragment}`;
}

/** Tokens the tracker fills in page URLs on every click (entrance, action, tag view). */
export const CLICK_TOKENS = [
  "hit",
  "vid",
  "external",
  "campaign",
  "cost",
  "funnel",
  "node",
  "page",
  "trafficsource",
  "country",
  "device",
  "os",
  "browser",
] as const;

/** Tokens filled in traffic-source postback URLs on top of the click tokens. */
export const POSTBACK_TOKENS = ["payout", "revenue", "tx", "status", "event"] as const;

/** Names a user's tracking field may not take: it would never be seen behind one of ours. */
export const RESERVED_TOKENS = [...CLICK_TOKENS, ...POSTBACK_TOKENS] as const;
