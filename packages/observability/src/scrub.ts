// Secrets out of anything that leaves the process for an error tracker (and of log lines that carry
// URLs): a pure function over plain data, so the api, the tracker and the worker share one rule.

/** Names whose values are secrets: passwords, session and postback tokens, API keys, secrets. */
export const SENSITIVE_NAME = /password|passwd|token|key|secret|authorization|cookie/i;

export const REDACTED = "[redacted]";

// name=value inside a URL's query or fragment, a form body or a log line: `?key=abc&x=1`.
const PAIR = /([?&#;\s]|^)([^=&#;\s?]*)=([^&#;\s"']*)/g;
// "name": "value" inside a JSON text that ended up in a string (a request body, a message).
const JSON_PAIR = /("([^"\\]{0,100})"\s*:\s*)"(?:[^"\\]|\\.)*"/g;
// An Authorization header's credentials wherever they were copied.
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
// Credentials in a URL's authority: scheme://user:password@host.
const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)[^@/\s]*@/gi;
// Password hashes (argon2, bcrypt, scrypt in PHC form) wherever they were copied.
const PASSWORD_HASH = /\$(argon2(?:id|i|d)|2[aby]|scrypt)\$[A-Za-z0-9$=,./+-]+/g;
// The parameter list a failed query's message carries (drizzle: "Failed query: …\nparams: …").
const QUERY_PARAMS = /(\bparams: ).*/g;

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, " "));
  } catch {
    return name;
  }
}

/** A string with the values of sensitive query/form/JSON pairs and credentials replaced. */
export function scrubString(value: string): string {
  if (value.length === 0) return value;
  return value
    .replace(PAIR, (whole, lead: string, name: string) =>
      SENSITIVE_NAME.test(decodeName(name)) ? `${lead}${name}=${REDACTED}` : whole,
    )
    .replace(JSON_PAIR, (whole, head: string, name: string) =>
      SENSITIVE_NAME.test(name) ? `${head}"${REDACTED}"` : whole,
    )
    .replace(BEARER, (_whole, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(USERINFO, (_whole, head: string) => `${head}${REDACTED}@`)
    .replace(PASSWORD_HASH, (_whole, kind: string) => `$${kind}$${REDACTED}`)
    .replace(QUERY_PARAMS, (_whole, head: string) => `${head}${REDACTED}`);
}

const MAX_DEPTH = 12;

/**
 * A deep copy of `value` in which every property whose name looks sensitive is replaced by
 * `[redacted]` and every string is passed through `scrubString` (query strings inside URLs,
 * `key=…` in messages, bearer tokens). Cycles and very deep objects are cut, never followed.
 */
export function scrub<T>(value: T): T {
  const seen = new WeakSet<object>();
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === "string") return scrubString(v);
    if (v === null || typeof v !== "object") return v;
    if (v instanceof Date) return v;
    if (seen.has(v) || depth > MAX_DEPTH) return "[cut]";
    seen.add(v);
    if (Array.isArray(v)) return v.map((item) => walk(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(v)) {
      out[k] =
        SENSITIVE_NAME.test(k) && item !== null && item !== undefined ? REDACTED : walk(item, depth + 1);
    }
    return out;
  };
  return walk(value, 0) as T;
}

/** tRPC procedures whose request bodies carry credentials (never sent anywhere, scrubbed or not). */
const CREDENTIAL_PATH = /\/trpc\/[^?]*\b(auth|invitations)\./;

interface RequestLike {
  url?: string;
  data?: unknown;
  cookies?: unknown;
}

/**
 * Sentry's `beforeSend`: no request body of an auth procedure at all, no cookies, no user address,
 * and `scrub` over everything else (messages, extras, breadcrumbs, URLs).
 */
export function scrubSentryEvent<E extends object>(event: E): E {
  const copy = { ...event } as E & { request?: RequestLike; user?: unknown };
  if (copy.request && typeof copy.request === "object") {
    const request: RequestLike = { ...copy.request };
    if (typeof request.url === "string" && CREDENTIAL_PATH.test(request.url)) delete request.data;
    delete request.cookies;
    copy.request = request;
  }
  if (copy.user && typeof copy.user === "object") {
    const { ip_address: _ip, email: _email, ...rest } = copy.user as Record<string, unknown>;
    copy.user = rest;
  }
  return scrub(copy);
}

/**
 * An error as a plain, scrubbed object for a log line: type, message, code, stack and causes, with
 * query parameters, hashes and secrets taken out of the text.
 */
export function scrubError(error: unknown, depth = 0): Record<string, unknown> | string {
  if (!(error instanceof Error)) return scrubString(String(error));
  const out: Record<string, unknown> = { type: error.name, message: scrubString(error.message) };
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") out.code = code;
  if (error.stack) out.stack = scrubString(error.stack);
  if (error.cause !== undefined && depth < 5) out.cause = scrubError(error.cause, depth + 1);
  return out;
}
