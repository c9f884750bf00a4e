import type { TrackerHarness } from "../harness.ts";
import { UA } from "./clicks.ts";

export const PAGE_ORIGIN = "https://pages.example";

/** A tag call as the browser makes it: JSON sent as text/plain from the page's origin. */
export function tagPost(
  h: TrackerHarness,
  host: string,
  path: "/js/view" | "/js/track",
  body: unknown,
  o: { cookie?: string; origin?: string | null; raw?: string } = {},
) {
  const origin = o.origin === undefined ? PAGE_ORIGIN : o.origin;
  return h.app.inject({
    method: "POST",
    url: path,
    remoteAddress: "127.0.0.1",
    headers: {
      host,
      "content-type": "text/plain;charset=UTF-8",
      "user-agent": UA.windowsChrome,
      ...(origin !== null ? { origin } : {}),
      ...(o.cookie ? { cookie: `hrvid=${o.cookie}` } : {}),
    },
    payload: o.raw ?? JSON.stringify(body),
  });
}

export interface ViewBody {
  funnel: string;
  node: string;
  page?: string;
  ts?: string;
  cost?: string;
  vid?: string;
  hit?: string;
  url: string;
  referrer?: string;
}

export const view = (h: TrackerHarness, host: string, body: ViewBody, o: { cookie?: string } = {}) =>
  tagPost(h, host, "/js/view", body, o);

export const trackEvent = (
  h: TrackerHarness,
  host: string,
  event: string,
  data: Record<string, string | undefined>,
  current: { vid?: string; hit?: string },
  o: { cookie?: string } = {},
) => tagPost(h, host, "/js/track", { event, ...data, current }, o);
