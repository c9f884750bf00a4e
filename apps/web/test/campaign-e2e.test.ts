import { mkdirSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { RunningTracker } from "@hitrail/tracker";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningWeb } from "../src/server/index.ts";
import { connectNodes, nav, signUp, watchConsole } from "./support/dashboard.ts";
import { CHROMIUM, chromiumAvailable, type DashboardStack, startDashboardStack } from "./support/stack.ts";

// Issue #22's "done when": a campaign built with the dashboard alone, then run with only what the
// dashboard shows. The entrance link, the lander's action link, the offer URL and the offer source's
// postback are copied from the pages (copy button, then the clipboard) and used as copied, with the
// placeholders filled the way the networks would. Chromium resolves the tracking domain and the
// user's own pages to this machine, so every redirect is a real one; the traffic source's postback
// lands on a local server; the worker keeps the rollups the report reads.

const available = chromiumAvailable;
if (!available)
  console.warn(`campaign-e2e: skipped, ${CHROMIUM} is not installed (apt-get install chromium)`);
// Screenshots go to the docs when asked (HITRAIL_SCREENS=docs/screens), else beside the test.
const SHOTS = process.env.HITRAIL_SCREENS
  ? path.resolve(fileURLToPath(new URL("../../..", import.meta.url)), process.env.HITRAIL_SCREENS)
  : fileURLToPath(new URL("./screenshots", import.meta.url));

const PERSON_UA =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";

interface Recorded {
  url: URL;
  at: number;
}

/** A local HTTP server that records what it receives and answers with `respond`. */
async function recordingServer(
  respond: (req: IncomingMessage, url: URL) => { type: string; body: string },
): Promise<{ server: Server; port: number; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`);
    requests.push({ url, at: Date.now() });
    const out = respond(req, url);
    res.writeHead(200, { "content-type": out.type });
    res.end(out.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, requests };
}

let stack: DashboardStack;
let tracker: RunningTracker;
let web: RunningWeb;
let browser: Browser;
let pages: Awaited<ReturnType<typeof recordingServer>>;
let trafficSource: Awaited<ReturnType<typeof recordingServer>>;
/** The lander's action link, as copied from the dashboard: the lander page links to it. */
let actionLink = "";

beforeAll(async () => {
  if (!available) return;
  mkdirSync(SHOTS, { recursive: true });
  pages = await recordingServer((_req, url) =>
    url.pathname === "/quiz"
      ? {
          type: "text/html",
          body: `<!doctype html><title>Quiz</title><h1>Which prize?</h1><a id="go" href="${actionLink}">See the prize</a>`,
        }
      : { type: "text/html", body: "<!doctype html><title>Sweepstakes</title><h1>Enter now</h1>" },
  );
  trafficSource = await recordingServer(() => ({ type: "text/plain", body: "ok" }));
  stack = await startDashboardStack({
    name: "campaign-e2e",
    tracker: true,
    worker: true,
    // The traffic source's postback goes to a server on this machine.
    env: { OUTBOUND_ALLOW_CIDRS: "127.0.0.1/32" },
    resolveToLocal: ["*.track.test", "pages.test", "offers.test"],
  });
  ({ web, browser } = stack);
  tracker = stack.tracker as RunningTracker;
}, 180_000);

afterAll(async () => {
  await stack?.close();
  pages?.server.close();
  trafficSource?.server.close();
});

/** What a user gets by pressing the copy button beside a code line: the clipboard's text. */
async function copyLine(page: Page, label: string | RegExp, within: Locator | Page = page): Promise<string> {
  const line = within.getByRole("group", { name: label }).first();
  await line.getByRole("button", { name: /^Copy/ }).click();
  return page.evaluate(() => navigator.clipboard.readText());
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

const poll = <T>(fn: () => Promise<T> | T, timeout = 10_000) => expect.poll(fn, { timeout, interval: 100 });

describe.skipIf(!available)("a campaign built and run from the dashboard alone", () => {
  it("builds, copies, redirects, converts, reports within seconds, edits a payout and drills three levels", async () => {
    const context: BrowserContext = await browser.newContext({
      viewport: { width: 1280, height: 860 },
      // Headless Chromium says so in its user agent, and the tracker rightly counts it a bot (left out
      // of visits): the visitor here is a person's browser.
      userAgent: PERSON_UA,
    });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: web.url });
    const page = await context.newPage();
    stack.watch(page);
    const errors = watchConsole(page);
    try {
      await runCampaign(context, page, errors);
    } catch (error) {
      // What the screen showed when it failed, beside the test's screenshots.
      await page.screenshot({ path: path.join(SHOTS, "failure.png"), fullPage: true }).catch(() => undefined);
      throw error;
    } finally {
      await context.close();
    }
  }, 240_000);
});

async function runCampaign(context: BrowserContext, page: Page, errors: string[]): Promise<void> {
  {
    // --- the account and the workspace --------------------------------------------------------------
    await page.goto(web.url);
    await signUp(page, { email: "buyer@agency.example", workspace: "Acme media", slug: "acme" });
    await poll(() => page.getByRole("navigation", { name: "Main" }).isVisible()).toBe(true);

    // --- a traffic source of our own, with a zone field --------------------------------------------
    await nav(page, "Traffic sources");
    const tsForm = page.getByRole("form", { name: "Create traffic source" });
    await tsForm.getByLabel("Name", { exact: true }).fill("PushNet");
    await tsForm
      .getByLabel("Postback URL")
      .fill(`http://127.0.0.1:${trafficSource.port}/conv?cid={external}&payout={payout}`);
    await tsForm.getByLabel("Click ID parameter").fill("clickid");
    await tsForm.getByRole("button", { name: "Add tracking field" }).click();
    await tsForm.getByLabel("Field name").fill("zone");
    await tsForm.getByLabel("Entrance parameter").fill("zoneid");
    await tsForm.getByRole("button", { name: "Create traffic source" }).click();
    await poll(() => page.getByRole("cell", { name: "PushNet", exact: true }).isVisible()).toBe(true);
    await shot(page, "traffic-sources");

    // --- the affiliate network and its offer ---------------------------------------------------------
    await nav(page, "Offer sources");
    const osForm = page.getByRole("form", { name: "Create offer source" });
    await osForm.getByLabel("Name", { exact: true }).fill("AffNet");
    await osForm.getByLabel("Click ID parameter").fill("sub1");
    await osForm
      .getByLabel("Network postback template")
      .fill("https://DOMAIN/pb/?hit={aff_sub}&rev={payout}");
    await osForm.getByRole("button", { name: "Create offer source" }).click();
    await poll(() => page.getByRole("cell", { name: "AffNet", exact: true }).isVisible()).toBe(true);

    await nav(page, "Offers");
    const offerForm = page.getByRole("form", { name: "Create offer" });
    await offerForm.getByLabel("Name", { exact: true }).fill("Sweepstakes");
    await offerForm.getByLabel("Offer URL").fill(`http://offers.test:${pages.port}/enter?sub1={hit}`);
    await offerForm.getByLabel("Default payout").fill("25");
    await offerForm.getByLabel("Offer source").selectOption({ label: "AffNet" });
    await offerForm.getByRole("button", { name: "Create offer" }).click();
    const offerRow = page.getByRole("row", { name: /Sweepstakes/ });
    await poll(() => offerRow.textContent()).toMatch(/AffNet.*25\.00/);
    await shot(page, "offers");

    await nav(page, "Landers");
    const landerForm = page.getByRole("form", { name: "Create lander" });
    await landerForm.getByLabel("Name", { exact: true }).fill("Quiz");
    await landerForm.getByLabel("Lander URL").fill(`http://pages.test:${pages.port}/quiz`);
    await landerForm.getByRole("button", { name: "Create lander" }).click();
    await poll(() => page.getByRole("cell", { name: "Quiz", exact: true }).isVisible()).toBe(true);

    // --- the funnel, drawn in the builder: entry → Quiz → (action 1) → Sweepstakes -----------------
    await nav(page, "Funnels");
    await page.getByRole("link", { name: "New funnel" }).click();
    await page.getByLabel("Funnel name").fill("Sweeps funnel");
    await page.getByRole("button", { name: "+ Lander" }).click();
    await page.getByRole("button", { name: "Add lander" }).click();
    await page.getByRole("button", { name: "+ Offer" }).click();
    await page.getByRole("button", { name: "Add offer" }).click();
    const nodes = page.locator(".react-flow__node");
    await poll(() => nodes.count()).toBe(3);
    await connectNodes(page, 0, 1);
    await connectNodes(page, 1, 2);
    await poll(() => page.locator(".react-flow__edge").count()).toBe(2);
    // The nodes say which pages they are.
    await poll(() => nodes.nth(1).textContent()).toMatch(/Quiz/);
    await poll(() => nodes.nth(2).textContent()).toMatch(/Sweepstakes/);
    await page.getByRole("button", { name: "Save funnel" }).click();
    await poll(() => page.url()).toMatch(/\/funnels\/[0-9a-f-]{36}$/);
    await poll(() => page.getByText("Unsaved changes").count()).toBe(0);
    await shot(page, "funnel-builder");

    // --- what the dashboard shows, copied ------------------------------------------------------------
    await nav(page, "Tracking codes");
    await page.getByRole("combobox", { name: /^Funnel/ }).selectOption({ label: "Sweeps funnel" });
    await page.getByRole("combobox", { name: /^Traffic source/ }).selectOption({ label: "PushNet" });
    await poll(() => page.getByRole("group", { name: "Entrance link" }).count()).toBe(1);
    const entrance = await copyLine(page, "Entrance link");
    const origin = new URL(tracker.url).port;
    expect(entrance).toMatch(new RegExp(`^http://acme\\.track\\.test:${origin}/fts/[0-9a-f-]{36}\\?`));
    const landerCodes = page.getByRole("region", { name: /^Lander / });
    await poll(() => landerCodes.count()).toBe(1);
    // The lander node's codes are Quiz's: its page tag names it.
    await poll(() =>
      landerCodes.getByRole("group", { name: "Page tag of Quiz (records its views)" }).count(),
    ).toBe(1);
    actionLink = await copyLine(page, /^Action 1 →/, landerCodes);
    expect(actionLink).toBe(`http://acme.track.test:${origin}/action/1`);
    await page.getByRole("combobox", { name: /^Offer(?! source)/ }).selectOption({ label: "Sweepstakes" });
    const offerUrl = await copyLine(page, "Offer URL (as the redirect sends it)");
    expect(offerUrl).toBe(`http://offers.test:${pages.port}/enter?sub1={hit}&vid={vid}`);
    await shot(page, "tracking-codes");

    await nav(page, "Offer sources");
    const osRow = page.getByRole("row", { name: /AffNet/ });
    await osRow.getByRole("button", { name: /^Copy/ }).click();
    const networkPostback = await page.evaluate(() => navigator.clipboard.readText());
    expect(networkPostback).toBe(`http://acme.track.test:${origin}/pb/?hit={aff_sub}&rev={payout}`);

    // --- a visitor from the traffic source, the network's placeholders filled in ---------------------
    const visitor = await context.newPage();
    const filled = entrance
      .replace("clickid=REPLACE", "clickid=ext-777")
      .replace("cost=REPLACE", "cost=0.05")
      .replace("zoneid=REPLACE", "zoneid=z9");
    expect(filled).not.toContain("REPLACE");
    await visitor.goto(filled);
    // Redirected to the lander, which carries the visitor ID.
    expect(visitor.url()).toMatch(new RegExp(`^http://pages\\.test:${pages.port}/quiz\\?vid=[0-9a-f-]{36}$`));
    const vid = new URL(visitor.url()).searchParams.get("vid") ?? "";
    await visitor.click("#go");
    await poll(() => visitor.url()).toMatch(/^http:\/\/offers\.test:/);
    // The offer as the dashboard said it would be sent: {hit} and {vid} filled.
    const sent = new URL(visitor.url());
    const hit = sent.searchParams.get("sub1") ?? "";
    expect(hit).toMatch(/^[0-9a-f-]{36}$/);
    expect(visitor.url()).toBe(offerUrl.replace("{hit}", hit).replace("{vid}", vid));
    // The whole chain, in order, on the user's own servers: lander, then offer.
    // (the browser's own favicon requests aside)
    const chain = pages.requests.filter((r) => r.url.pathname !== "/favicon.ico");
    expect(chain.map((r) => `${r.url.host.split(":")[0]}${r.url.pathname}`)).toEqual([
      "pages.test/quiz",
      "offers.test/enter",
    ]);

    // --- the network's postback, as it would fill the copied template --------------------------------
    const postback = await visitor.goto(networkPostback.replace("{aff_sub}", hit).replace("{payout}", "30"));
    expect(postback?.status()).toBe(200);
    expect(await postback?.json()).toMatchObject({ outcome: "created", conversion: { revenue: "30" } });
    const convertedAt = Date.now();

    // --- the traffic source hears of it ----------------------------------------------------------------
    await poll(() => trafficSource.requests.length, 15_000).toBeGreaterThan(0);
    const told = trafficSource.requests[0]?.url;
    expect(told?.pathname).toBe("/conv");
    expect(told?.searchParams.get("cid")).toBe("ext-777");
    expect(told?.searchParams.get("payout")).toBe("30");

    // --- the report: the row is there within 5 s of the conversion ------------------------------------
    await nav(page, "Reports");
    await page.getByLabel("Group by").selectOption("trafficSource");
    const grid = page.getByRole("table", { name: "Report grid" });
    const tsRow = grid.locator('tr[data-level="0"]', { hasText: "PushNet" });
    const cellOf = async (row: typeof tsRow, header: string) => {
      const headers = await grid.locator("thead th").allTextContents();
      const i = headers.findIndex(
        (h) => h.replace(/[▲▼]/g, "").trim().toLowerCase() === header.toLowerCase(),
      );
      if (i < 0) throw new Error(`no column ${header} in ${headers.join(" | ")}`);
      return (await row.locator("td").nth(i).textContent())?.trim() ?? "";
    };
    const deadline = convertedAt + 5_000;
    let seen = false;
    while (Date.now() < deadline && !seen) {
      await page.getByRole("button", { name: "Refresh" }).click();
      seen =
        (await tsRow.count()) === 1 &&
        (await cellOf(tsRow, "Visits")) === "1" &&
        (await cellOf(tsRow, "Conversions")) === "1";
      if (!seen) await page.waitForTimeout(250);
    }
    expect(seen, "the report row (1 visit, 1 conversion) within 5 s of the conversion").toBe(true);
    expect(await cellOf(tsRow, "Revenue")).toMatch(/30\.00/);
    expect(await cellOf(tsRow, "Cost")).toMatch(/0\.05/);
    await shot(page, "reports");

    // --- three levels: traffic source → zone → offer ----------------------------------------------
    await page.getByLabel("Then by (level 2)").selectOption("field:zone");
    await page.getByLabel("Then by (level 3)").selectOption("offer");
    await tsRow.getByRole("button", { name: /PushNet/ }).click();
    const zoneRow = grid.locator('tr[data-level="1"]', { hasText: "z9" });
    await poll(() => zoneRow.count()).toBe(1);
    await zoneRow.getByRole("button", { name: /z9/ }).click();
    const offerLeaf = grid.locator('tr[data-level="2"]', { hasText: "Sweepstakes" });
    await poll(() => offerLeaf.count()).toBe(1);
    expect(await cellOf(offerLeaf, "Conversions")).toBe("1");
    expect(await cellOf(offerLeaf, "Revenue")).toMatch(/30\.00/);
    await shot(page, "reports-drill-down");

    // --- an edit of the offer's payout, used by the next conversion ---------------------------------
    await nav(page, "Offers");
    await page.getByRole("button", { name: "Edit Sweepstakes" }).click();
    const edit = page.getByRole("form", { name: "Edit offer" });
    await edit.getByLabel("Default payout").fill("40");
    await edit.getByRole("button", { name: "Save changes" }).click();
    await poll(() => offerRow.textContent()).toMatch(/40\.00/);
    // A second visitor; the network posts back without a payout: the offer's new default counts.
    const second = await context.newPage();
    await second.goto(filled.replace("ext-777", "ext-778"));
    await second.click("#go");
    await poll(() => second.url()).toMatch(/^http:\/\/offers\.test:/);
    const hit2 = new URL(second.url()).searchParams.get("sub1") ?? "";
    const pb2 = await second.goto(networkPostback.replace("{aff_sub}", hit2).replace("&rev={payout}", ""));
    expect(await pb2?.json()).toMatchObject({ outcome: "created", conversion: { revenue: "40" } });

    // The remaining main screens, for the docs.
    for (const [label, name] of [
      ["Conversions", "conversions"],
      ["Funnels", "funnels"],
      ["Offer sources", "offer-sources"],
      ["Costs", "costs"],
    ] as const) {
      await nav(page, label);
      await page.waitForLoadState("networkidle");
      await shot(page, name);
    }
    expect(errors).toEqual([]);
  }
}
