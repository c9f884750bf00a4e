import type { AddressInfo } from "node:net";
import { createCampaignKit } from "@hitrail/db";
import { factories } from "@hitrail/db/testing";
import { and, eq, schema } from "@hitrail/db/testing/sql";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";
import { CHROMIUM, chromiumAvailable, launchChromium, linkReady, viewAfter } from "./support/tag-browser.ts";
import { type PagesSite, startPagesSite } from "./support/tag-pages.ts";

// Seed: the visitor ID — "add it automatically to redirect destinations". The lander is on the
// user's site and the offer on the network's own origin, as in affiliate funnels: two HTTP servers
// on different hosts and ports, the tracker redirecting between them, Chromium in between. The
// offer page knows nothing of our visitor but what the redirect appended to its URL.

if (!chromiumAvailable && process.env.CI === "true")
  throw new Error(`${CHROMIUM} is missing: CI must run the tag e2e tests`);

let h: TrackerHarness;
let browser: Browser;
let tracker: string;
const sites: PagesSite[] = [];

beforeAll(async () => {
  if (!chromiumAvailable) return;
  h = await createTrackerHarness();
  await h.app.listen({ host: "127.0.0.1", port: 0 });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  for (const s of sites) await s.close();
  await h?.close();
});

/** A workspace whose lander is on one origin and whose offers are on a network's other origin. */
async function twoOrigins(visitorIdParam: string) {
  const { workspace, host } = await factories.workspace(h.t.db);
  await h.t.db
    .update(schema.workspaces)
    .set({ visitorIdParam })
    .where(eq(schema.workspaces.id, workspace.id));
  tracker = `http://${host}:${(h.app.server.address() as AddressInfo).port}`;
  const ids = { lander: { funnel: "", node: "", page: "" }, offer: { funnel: "", node: "", page: "" } };
  const landerSite = await startPagesSite({ tracker, ...ids });
  const networkSite = await startPagesSite({ tracker, ...ids });
  sites.push(landerSite, networkSite);
  // Same machine, other host name and port: another origin and another site for the browser.
  const network = `http://network.localhost:${new URL(networkSite.origin).port}`;
  const kit = await createCampaignKit(h.t.db, {
    workspaceId: workspace.id,
    // Neither template passes the visitor: the redirect must append it.
    landerUrl: `${landerSite.origin}/lander?hit={hit}`,
    offerUrls: [`${network}/offer-a?clickid={hit}`, `${network}/offer-b?clickid={hit}`],
  });
  Object.assign(ids.lander, { funnel: kit.funnelId, node: kit.nodes.lander, page: kit.landerId });
  Object.assign(ids.offer, { funnel: kit.funnelId, node: kit.nodes.offerA, page: kit.offerIds[0] });
  const hits = () =>
    h.t.db
      .select({ id: schema.hits.id, visitorId: schema.hits.visitorId, pageKind: schema.hits.pageKind })
      .from(schema.hits)
      .where(eq(schema.hits.workspaceId, workspace.id));
  return { workspaceId: workspace.id, kit, network, hits };
}

/** Entrance → lander (tagged) → action 1 → offer (tagged, on the network's origin), in a fresh context. */
async function journey(kit: { funnelId: string; trafficSourceId: string }) {
  const context = await browser.newContext();
  const page = await context.newPage();
  // The URLs the redirects sent the browser to (the tag rewrites the address bar afterwards).
  const navigated: URL[] = [];
  page.on("request", (r) => {
    if (r.isNavigationRequest() && !r.url().startsWith(tracker)) navigated.push(new URL(r.url()));
  });
  const lander = await viewAfter(page, () =>
    page.goto(`${tracker}/fts/${kit.funnelId}?ts=${kit.trafficSourceId}`),
  );
  await linkReady(page);
  const offer = await viewAfter(page, () => page.click("#go"));
  await context.close();
  const [landerUrl, offerUrl, ...more] = navigated;
  expect(more).toEqual([]);
  if (landerUrl === undefined || offerUrl === undefined) throw new Error("no redirect reached the pages");
  return { lander, offer, landerUrl, offerUrl };
}

describe.skipIf(!chromiumAvailable)(
  "the visitor continues across origins (lander and offer elsewhere)",
  () => {
    it("the offer page on the network's origin records its view on the lander's visitor, under the workspace's parameter", async () => {
      const w = await twoOrigins("fvid");
      const { lander, offer, landerUrl, offerUrl } = await journey(w.kit);

      expect(landerUrl.searchParams.get("fvid")).toBe(lander.vid);
      expect(offerUrl.origin).toBe(w.network);
      expect(offerUrl.searchParams.get("fvid")).toBe(lander.vid);
      expect(offer.vid).toBe(lander.vid);
      // The offer's view is the redirect's own hit (clickid), not a second one.
      expect(offer.hit).toBe(offerUrl.searchParams.get("clickid"));
      const rows = await w.hits();
      expect(rows.map((r) => [r.pageKind, r.visitorId]).sort()).toEqual([
        ["lander", lander.vid],
        ["offer", lander.vid],
      ]);
    }, 60_000);

    it("an offer that opted out (a network refusing unknown parameters) loses the visitor on the other origin", async () => {
      // The control: what the seed rule prevents. Without the parameter the offer page has no way to
      // know the visitor (third-party storage, a SameSite=Lax cookie), so it starts another one.
      const w = await twoOrigins("vid");
      await h.t.db
        .update(schema.offers)
        .set({ passVisitorId: false })
        .where(and(eq(schema.offers.workspaceId, w.workspaceId), eq(schema.offers.id, w.kit.offerIds[0])));
      const { lander, offer, offerUrl } = await journey(w.kit);
      expect(offerUrl.searchParams.has("vid")).toBe(false);
      expect(offer.vid).not.toBe(lander.vid);
      const rows = await w.hits();
      expect(
        rows
          .filter((r) => r.visitorId === lander.vid)
          .map((r) => r.pageKind)
          .sort(),
      ).toEqual(["lander", "offer"]);
      expect(rows.filter((r) => r.visitorId === offer.vid).map((r) => r.pageKind)).toEqual(["offer"]);
    }, 60_000);
  },
);
