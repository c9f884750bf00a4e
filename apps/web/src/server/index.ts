import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fastifyHttpProxy from "@fastify/http-proxy";
import fastifyStatic from "@fastify/static";
import Fastify, { type FastifyInstance } from "fastify";

export { DASHBOARD_SOURCES, dashboardBuildStaleness } from "./staleness.ts";

export const DEFAULT_DIST = fileURLToPath(new URL("../../dist", import.meta.url));

/**
 * The dashboard's own page may run only its own scripts, talk only to its own origin, never be
 * framed (clickjacking), never be sniffed into another type, and never leak its URLs (invitation
 * tokens) in a Referer. infra/docker/web.Caddyfile sends the same headers.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // React and the chart library set style attributes; no inline script is allowed.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export const SECURITY_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

export interface WebOptions {
  /** Where the api listens; /trpc is proxied there so the browser stays on one origin. */
  apiUrl: string;
  port: number;
  host?: string;
  distDir?: string;
}

export interface RunningWeb {
  app: FastifyInstance;
  url: string;
  close: () => Promise<void>;
}

/**
 * The dashboard for `pnpm start` and local use: the built assets (hashed files cached for a year,
 * index.html revalidated, client routes fall back to it) and /trpc proxied to the api. Production
 * images serve the same files from Caddy instead (infra/docker/web.Caddyfile).
 */
export async function startWeb(opts: WebOptions): Promise<RunningWeb> {
  const root = opts.distDir ?? DEFAULT_DIST;
  if (!existsSync(path.join(root, "index.html"))) {
    throw new Error(
      `the dashboard is not built (${root}/index.html missing): run pnpm --filter @hitrail/web build`,
    );
  }
  const app = Fastify({ logger: false });
  app.addHook("onRequest", async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
  });
  await app.register(fastifyHttpProxy, {
    upstream: opts.apiUrl,
    prefix: "/trpc",
    rewritePrefix: "/trpc",
    // The api limits sign-in attempts per client address: tell it the browser's, not ours (it
    // trusts X-Forwarded-For from loopback, where this server runs beside it).
    replyOptions: {
      rewriteRequestHeaders: (request, headers) => ({ ...headers, "x-forwarded-for": request.ip }),
    },
  });
  await app.register(fastifyStatic, {
    root,
    wildcard: false,
    setHeaders: (res, file) => {
      res.setHeader(
        "cache-control",
        file.includes(`${path.sep}assets${path.sep}`) ? "public, max-age=31536000, immutable" : "no-cache",
      );
    },
  });
  app.get("/healthz", async () => "ok");
  // Client-side routes (/reports, /funnels/…) are the app's: answer them with index.html.
  app.setNotFoundHandler((request, reply) => {
    if (request.method !== "GET" || request.url.startsWith("/assets/"))
      return reply.code(404).send("Not Found");
    return reply.header("cache-control", "no-cache").sendFile("index.html");
  });
  const url = await app.listen({ host: opts.host ?? "127.0.0.1", port: opts.port });
  return { app, url, close: () => app.close() };
}

/** Builds the dashboard with Vite (used by `pnpm start` and the e2e test when dist is missing). */
export async function buildWeb(): Promise<void> {
  const { build } = await import("vite");
  await build({ root: fileURLToPath(new URL("../..", import.meta.url)), logLevel: "warn" });
}
