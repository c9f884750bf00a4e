import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { recomputeRollups } from "@hitrail/db";
import type { TestDatabase } from "@hitrail/db/testing";
import type { RunningTracker } from "@hitrail/tracker";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningWeb } from "../src/server/index.ts";
import { connectNodes, nav, signUp, watchConsole } from "./support/dashboard.ts";
import { CHROMIUM, chromiumAvailable, type DashboardStack, startDashboardStack } from "./support/stack.ts";

// The dashboard end to end in Debian's Chromium against the real stack (tracker, api, web on a
// database of its own): a new user signs up, creates a workspace, a traffic source, an offer and a
// lander, builds a funnel in the visual builder, copies its entrance link, a visitor follows it, a
// network posts the conversion back, and the report and its chart show it.

const available = chromiumAvailable;
if (!available)
  console.warn(`dashboard-e2e: skipped, ${CHROMIUM} is not installed (apt-get install chromium)`);
const BROWSER_UA =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
const SHOTS = fileURLToPath(new URL("./screenshots", import.meta.url));

let stack: DashboardStack;
let t: TestDatabase;
let tracker: RunningTracker;
let web: RunningWeb;
let browser: Browser;

beforeAll(async () => {
  if (!available) return;
  mkdirSync(SHOTS, { recursive: true });
  stack = await startDashboardStack({ name: "web-e2e", tracker: true });
  ({ t, web, browser } = stack);
  tracker = stack.tracker as RunningTracker;
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

/** Every input, select and textarea on the page has an accessible name (a label). */
async function unlabelledFields(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea")]
      .filter((el) => {
        const e = el as HTMLInputElement;
        if (e.type === "hidden") return false;
        const byLabel = e.labels && e.labels.length > 0;
        return !byLabel && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby");
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );
}

describe.skipIf(!available)("the dashboard in Chromium", () => {
  it("sign up → objects → funnel builder → entrance link → visit → postback → report and chart", async () => {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      acceptDownloads: true,
    });
    const page = await context.newPage();
    stack.watch(page);
    const errors = watchConsole(page);
    const shot = (name: string) =>
      page.screenshot({ path: path.join(SHOTS, `${name}-1280.png`), fullPage: true });

    await page.goto(web.url);
    await signUp(
      page,
      { email: "buyer@example.com", workspace: "Acme media", slug: "acme" },
      { beforeSubmit: () => shot("sign-up") },
    );
    await expect.poll(() => page.getByRole("navigation", { name: "Main" }).isVisible()).toBe(true);

    await nav(page, "Traffic sources");
    await page.getByLabel("Name").fill("PropellerAds");
    await page.getByLabel("Postback URL").fill("https://ads.example/pb?cid={external}&p={payout}");
    await page.getByRole("button", { name: "Create traffic source" }).click();
    await expect
      .poll(() => page.getByRole("cell", { name: "PropellerAds", exact: true }).isVisible())
      .toBe(true);
    await shot("traffic-sources");

    await nav(page, "Offers");
    await page.getByLabel("Name").fill("Sweepstakes");
    await page.getByLabel("Offer URL").fill("https://offers.example/o?clickid={hit}");
    await page.getByLabel("Default payout").fill("25");
    await page.getByRole("button", { name: "Create offer" }).click();
    await expect
      .poll(() => page.getByRole("cell", { name: "Sweepstakes", exact: true }).isVisible())
      .toBe(true);
    await shot("offers");

    await nav(page, "Landers");
    await page.getByLabel("Name").fill("Quiz");
    await page.getByLabel("Lander URL").fill("https://pages.example/quiz?vid={vid}");
    await page.getByRole("button", { name: "Create lander" }).click();
    await expect.poll(() => page.getByRole("cell", { name: "Quiz", exact: true }).isVisible()).toBe(true);

    // The builder: entry → lander → (action 1) → offer, dragged and connected with the mouse.
    await nav(page, "Funnels");
    await page.getByRole("link", { name: "New funnel" }).click();
    await page.getByLabel("Funnel name").fill("Quiz funnel");
    await page.getByRole("button", { name: "+ Lander" }).click();
    await page.getByRole("button", { name: "Add lander" }).click();
    await page.getByRole("button", { name: "+ Offer" }).click();
    await page.getByRole("button", { name: "Add offer" }).click();
    const nodes = page.locator(".react-flow__node");
    await expect.poll(() => nodes.count()).toBe(3);
    await connectNodes(page, 0, 1);
    await connectNodes(page, 1, 2);
    await expect.poll(() => page.locator(".react-flow__edge").count()).toBe(2);
    await expect.poll(() => page.getByText("Action 1").isVisible()).toBe(true);
    await shot("funnel-builder");
    await page.getByRole("button", { name: "Save funnel" }).click();
    await expect.poll(() => page.url()).toMatch(/\/funnels\/[0-9a-f-]{36}$/);

    await nav(page, "Tracking codes");
    const entrance = page.locator("code", { hasText: "/fts/" });
    await expect.poll(() => entrance.count()).toBe(1);
    // Copied the way a user does: the copy button beside the link, then the clipboard.
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: web.url });
    await page.getByRole("button", { name: /^Copy: .*\/fts\// }).click();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toBe(await entrance.textContent());
    const entranceUrl = new URL(copied);
    await shot("tracking-codes");

    // A visitor follows the link on the workspace's tracking domain, clicks through, the network posts back.
    const host = entranceUrl.host;
    const visit = await tracker.app.inject({
      method: "GET",
      url: `${entranceUrl.pathname}${entranceUrl.search.replace(/=\{[^}]+\}/g, "=x")}`,
      // A browser's user agent: a visit without one is a bot, and bots are left out of visits.
      headers: { host, "user-agent": BROWSER_UA },
    });
    expect(visit.statusCode, visit.body).toBe(302);
    expect(String(visit.headers.location)).toMatch(/^https:\/\/pages\.example\/quiz\?vid=/);
    const vid = /hrvid=([^;]+)/.exec(String(visit.headers["set-cookie"]))?.[1];
    const click = await tracker.app.inject({
      method: "GET",
      url: "/action/1",
      headers: { host, cookie: `hrvid=${vid}`, "user-agent": BROWSER_UA },
    });
    expect(click.statusCode).toBe(302);
    const offerHit = new URL(String(click.headers.location)).searchParams.get("clickid");
    const pb = await tracker.app.inject({ method: "GET", url: `/pb/?hit=${offerHit}`, headers: { host } });
    expect(pb.json()).toMatchObject({ outcome: "created", conversion: { revenue: "25" } });
    // What the worker's rollup jobs do on their schedule, done now (`hitrail rollups recompute`).
    await recomputeRollups(t.db, {
      from: new Date(Date.now() - 3_600_000),
      to: new Date(Date.now() + 3_600_000),
    });

    await nav(page, "Reports");
    await page.reload();
    const revenue = page.locator('[data-metric="Revenue"]');
    await expect.poll(() => revenue.textContent()).toMatch(/25\.00/);
    // One visitor on the lander, then the offer: one visit (two page views), one conversion.
    await expect.poll(() => page.locator('[data-metric="Visits"]').textContent()).toBe("1");
    await expect.poll(() => page.locator('[data-metric="Conversions"]').textContent()).toBe("1");
    expect(await page.getByLabel(/^Dates \(/).inputValue()).toBe("last7");
    // Three levels: funnel → node → country, each row expanded in place.
    await page.getByLabel("Group by").selectOption("funnel");
    await page.getByLabel("Then by (level 2)").selectOption("node");
    await page.getByLabel("Then by (level 3)").selectOption("country");
    const grid = page.getByRole("table", { name: "Report grid" });
    const funnelRow = grid.getByRole("button", { name: /Quiz funnel/ });
    await expect.poll(() => funnelRow.isVisible()).toBe(true);
    await funnelRow.click();
    await expect.poll(() => grid.locator('tr[data-level="1"]').count()).toBe(2);
    await grid.locator('tr[data-level="1"]').first().getByRole("button").click();
    await expect.poll(() => grid.locator('tr[data-level="2"]').count()).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId("totals").textContent()).toMatch(/25\.00/);
    // The chart is drawn (uPlot renders to a canvas inside the labelled figure).
    await expect.poll(() => page.locator('[role="img"] canvas').count()).toBeGreaterThan(0);
    await shot("reports");
    // The export is the grid on screen: its header, its lines in order, its totals.
    const shown = await grid.evaluate((table) =>
      [...table.querySelectorAll("tr")].map((tr) =>
        [...tr.querySelectorAll("th, td")].map((c) => (c.textContent ?? "").replace(/^[▸▾] /, "").trim()),
      ),
    );
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Export CSV" }).click(),
    ]);
    const csv = readFileSync(await download.path(), "utf8")
      .trimEnd()
      .split("\r\n");
    expect(csv.length).toBe(shown.length);
    expect(csv[0]).toBe(
      "Funnel,Node,Country,Visits,Clicks,CTR,Conversions,CR,Revenue,Cost,Profit,ROI,EPC,CPA",
    );
    expect(csv.map((l) => l.split(",").slice(0, 3))).toEqual(
      shown.map((cells) => cells.slice(0, 3).map((c) => c.replace(/^Quiz funnel$/, "Quiz funnel"))),
    );
    expect(csv.at(-1)).toMatch(/^Total,,,1,1,1,1,1,25,0,25,,25,0$/);

    for (const [label, name] of [
      ["Conversions", "conversions"],
      ["Postbacks", "postbacks"],
      ["Deliveries", "deliveries"],
      ["Custom events", "event-types"],
      ["Domains", "domains"],
      ["Members", "members"],
      ["API keys", "api-keys"],
      ["Offer sources", "offer-sources"],
      ["Settings", "settings"],
    ] as const) {
      await nav(page, label);
      await page.waitForLoadState("networkidle");
      await shot(name);
      expect(await unlabelledFields(page), name).toEqual([]);
    }
    await nav(page, "Conversions");
    await expect.poll(() => page.getByRole("cell", { name: offerHit ?? "?" }).isVisible()).toBe(true);

    expect(errors).toEqual([]);

    // The same screens on a phone.
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      storageState: await context.storageState(),
    });
    const small = await phone.newPage();
    const phoneErrors = watchConsole(small);
    for (const screen of ["reports", "funnels", "tracking-codes", "conversions"]) {
      await small.goto(`${web.url}/${screen}`);
      await small.waitForLoadState("networkidle");
      await small.screenshot({ path: path.join(SHOTS, `${screen}-390.png`), fullPage: true });
      // Nothing wider than the screen but the tables, which scroll inside their own box.
      const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, screen).toBeLessThanOrEqual(1);
    }
    expect(phoneErrors).toEqual([]);
    await phone.close();
    await context.close();
  }, 180_000);
});
