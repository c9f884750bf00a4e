/** A request body we could not read; the route still logs the postback and answers 400. */
export class UnreadableBody {
  constructor(readonly reason: string) {}
}

export interface PostbackParams {
  /** One string per parameter (the first, when repeated); own properties only. */
  values: Record<string, string>;
  /** Why the body was refused, when it was. */
  bodyProblem: string | null;
}

const MAX_PARAMS = 64;

function firstString(value: unknown): string | undefined {
  if (Array.isArray(value)) return firstString(value[0]);
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

function addAll(target: Record<string, string>, source: unknown): void {
  if (source === null || typeof source !== "object" || Array.isArray(source)) return;
  for (const [name, raw] of Object.entries(source)) {
    if (Object.hasOwn(target, name)) continue; // the first value wins: the query string before the body
    if (Object.keys(target).length >= MAX_PARAMS) return;
    const value = firstString(raw);
    if (value !== undefined) target[name] = value;
  }
}

/**
 * Query string and body (form or JSON) as one flat record for core's parsePostback. Networks put the
 * postback in the URL or in the body; when both carry a parameter, the URL's wins.
 */
export function flattenPostbackParams(query: unknown, body: unknown): PostbackParams {
  // No prototype: a parameter called "__proto__" or "constructor" is just a parameter.
  const values = Object.create(null) as Record<string, string>;
  addAll(values, query);
  let bodyProblem: string | null = null;
  if (body instanceof UnreadableBody) bodyProblem = body.reason;
  else if (typeof body === "string" && body.trim() !== "")
    bodyProblem = null; // a body type we do not read
  else if (Array.isArray(body)) bodyProblem = "the JSON body must be an object of parameters, not an array";
  else addAll(values, body);
  return { values, bodyProblem };
}

const SECRET_PARAMS = new Set(["key"]);
const MAX_LOGGED_VALUE = 1_000;

/** The parameters as the postback log and the audit trail keep them: secrets redacted, values bounded. */
export function paramsForLog(values: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (SECRET_PARAMS.has(name.toLowerCase())) out[name] = "[redacted]";
    else out[name] = value.length > MAX_LOGGED_VALUE ? `${value.slice(0, MAX_LOGGED_VALUE)}…` : value;
  }
  return out;
}
