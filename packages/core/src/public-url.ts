// Every link a user copies (entrance and action links, postback URLs, tag.js, the demo link) starts
// with a tracking domain's public origin. It is built here and nowhere else, so the dashboard, the
// API and the CLI cannot disagree about the scheme or leave out the port (locally the tracker
// listens on one: `http://acme.localhost:8080`).

export interface PublicLinkBase {
  scheme: "http" | "https";
  /** The port visitors reach the tracker on; null (or the scheme's default port): none in links. */
  port: number | null;
}

const DEFAULT_PORT = { http: 80, https: 443 } as const;

/** `scheme://host[:port]` for a tracking domain, the port left out when it is the scheme's default. */
export function trackingOrigin(base: PublicLinkBase, host: string): string {
  const port =
    base.port === null || base.port === 0 || base.port === DEFAULT_PORT[base.scheme] ? "" : `:${base.port}`;
  return `${base.scheme}://${host.toLowerCase()}${port}`;
}
