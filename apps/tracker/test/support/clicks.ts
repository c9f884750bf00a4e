import { asc, eq, schema } from "@hitrail/db/testing/sql";
import type { LightMyRequestResponse } from "fastify";
import { expect } from "vitest";
import type { TrackerHarness } from "../harness.ts";

export const UA = {
  iphone:
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
  windowsChrome:
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
  androidChrome:
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
  macFirefox: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
  googlebot: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
} as const;

/** An address the offline GeoIP database places in Great Britain. */
export const GB_IP = "81.2.69.142";

export interface ClickOptions {
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** The visitor's address as the socket sees it (trustProxy is off). */
  ip?: string;
  /** hrvid cookie value. */
  cookie?: string;
}

function url(path: string, query: Record<string, string> = {}): string {
  const qs = new URLSearchParams(query).toString();
  return qs === "" ? path : `${path}?${qs}`;
}

export function click(h: TrackerHarness, host: string, path: string, o: ClickOptions = {}) {
  return h.app.inject({
    method: "GET",
    url: url(path, o.query),
    remoteAddress: o.ip ?? "127.0.0.1",
    headers: {
      host,
      "user-agent": UA.windowsChrome,
      ...(o.cookie ? { cookie: `other=1; hrvid=${o.cookie}` } : {}),
      ...o.headers,
    },
  });
}

export const enter = (h: TrackerHarness, host: string, funnelId: string, o: ClickOptions = {}) =>
  click(h, host, `/fts/${funnelId}`, o);

export const act = (h: TrackerHarness, host: string, n: number | string, o: ClickOptions = {}) =>
  click(h, host, `/action/${n}`, o);

/** The 302's Location, parsed; fails the test on any other answer. */
export function location(res: LightMyRequestResponse): URL {
  expect(res.statusCode, res.body).toBe(302);
  return new URL(String(res.headers.location));
}

export function visitorCookieOf(res: LightMyRequestResponse): string {
  const raw = String(res.headers["set-cookie"] ?? "");
  const m = /^hrvid=([^;]+)/.exec(raw);
  if (!m?.[1]) throw new Error(`no visitor cookie in ${raw}`);
  return m[1];
}

export async function hitsOf(h: TrackerHarness, workspaceId: string) {
  return h.t.db
    .select()
    .from(schema.hits)
    .where(eq(schema.hits.workspaceId, workspaceId))
    .orderBy(asc(schema.hits.id));
}
