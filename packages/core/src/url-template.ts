// Where a URL template sends a visitor (or a postback) must be decided by the person who wrote it,
// never by a request: a `{token}` is filled from the click (`?external=…`), so a token in the scheme
// or the host would let anyone who crafts a link choose the destination (an open redirect through
// the tracking domain). Tokens belong in the path, the query and the fragment.

const TOKEN = /\{[^{}]*\}/;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/**
 * Why a URL template may not be used, or null when it may: its scheme must be written out
 * (http or https) and no `{token}` may appear in the authority (user info, host, port).
 */
export function urlTemplateProblem(template: string): string | null {
  const t = template.trim();
  const scheme = SCHEME.exec(t);
  if (scheme === null) {
    return TOKEN.test(t.split("/", 1)[0] ?? "")
      ? "a {token} may not stand for the scheme: write http:// or https://"
      : "must start with http:// or https://";
  }
  const name = (scheme[1] ?? "").toLowerCase();
  if (name !== "http" && name !== "https") return "must start with http:// or https://";
  const rest = t.slice(scheme[0].length);
  if (!rest.startsWith("//")) return "must start with http:// or https://";
  // The authority ends at the first of / ? # — and at a backslash, which browsers read as a slash.
  const authority = /^[^/?#\\]*/.exec(rest.slice(2))?.[0] ?? "";
  if (authority === "") return "has no host";
  if (authority.includes("{") || authority.includes("}")) {
    return "a {token} may not be in the host: tokens go in the path or the query (https://example.com/land?id={external})";
  }
  return null;
}
