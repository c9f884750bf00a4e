import { REDACTED } from "./scrub.ts";

// URLs reach logs and error reports whole, and postback URLs carry the workspace's secret (`key=`).
// Every URL we log goes through redactUrl first; the logger and captureException apply it to any
// `url` field, so a call site that forgets cannot leak.

/** Query parameter names whose values are secrets (compared case-insensitively, `[]` suffix too). */
export const SECRET_PARAMS: readonly string[] = [
  "key",
  "api_key",
  "apikey",
  "secret",
  "client_secret",
  "token",
  "access_token",
  "refresh_token",
  "password",
  "passwd",
  "pwd",
];

const SECRET = new Set(SECRET_PARAMS);

function isSecretName(rawName: string): boolean {
  let name = rawName;
  try {
    name = decodeURIComponent(rawName.replace(/\+/g, " "));
  } catch {
    // A malformed escape: judge the name as written.
  }
  return SECRET.has(name.trim().toLowerCase().replace(/\[\]$/, ""));
}

/**
 * The URL (absolute, or a path with a query as Fastify's request.url) with the value of every
 * secret-like query parameter replaced by `[redacted]`. Works on the text, never re-encodes the rest,
 * and never throws: anything that is not a string comes back as it is.
 */
export function redactUrl<T>(url: T): T {
  if (typeof url !== "string") return url;
  const queryAt = url.indexOf("?");
  if (queryAt === -1) return url;
  const hashAt = url.indexOf("#", queryAt);
  const end = hashAt === -1 ? url.length : hashAt;
  const query = url.slice(queryAt + 1, end);
  // `;` separates parameters for some servers too: treat it as a separator so `a=1;key=x` is caught.
  const redacted = query.replace(/(^|[&;])([^&;=]*)=([^&;]*)/g, (whole, sep: string, name: string) =>
    isSecretName(name) ? `${sep}${name}=${REDACTED}` : whole,
  );
  return (url.slice(0, queryAt + 1) + redacted + url.slice(end)) as T;
}
