import type { TestDatabase } from "@hitrail/db/testing";
import { eq, schema } from "@hitrail/db/testing/sql";
import type { RunningTracker } from "@hitrail/tracker";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningWeb } from "../src/server/index.ts";
import { connectNodes, nav, signUp } from "./support/dashboard.ts";
import { chromiumAvailable, type DashboardStack, startDashboardStack } from "./support/stack.ts";

// Issue 23's seed rules as a user sets them in the dashboard (Chromium, the real stack): the
// visitor-ID parameter in the workspace settings, an offer opting out of it, and an on-action
// trigger switched to "count every time" in the funnel builder — then a visit through the tracker
// that follows what was set.

const available = chromiumAvailable;

let stack: DashboardStack;
let t: TestDatabase;
let tracker: RunningTracker;
let web: RunningWeb;
let browser: Browser;

beforeAll(async () => {
  if (!available) return;
  stack = await startDashboardStack({ name: "web-seed-rules", tracker: true });
  ({ t, web, browser } = stack);
  tracker = stack.tracker as RunningTracker;
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

describe.skipIf(!available)("seed rules set in the dashboard", () => {
  it("visitor-ID parameter, an offer's opt-out and a trigger's 'every time' switch, followed by the tracker", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    stack.watch(page);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));

    await page.goto(web.url);
    await signUp(page, { email: "rules@example.com", workspace: "Rules", slug: "rules" });
    await expect.poll(() => page.getByRole("navigation", { name: "Main" }).isVisible()).toBe(true);

    await nav(page, "Settings");
    const param = page.getByLabel("Visitor ID parameter");
    await expect.poll(() => param.inputValue()).toBe("vid");
    await param.fill("hit");
    await page.getByRole("button", { name: "Save settings" }).click();
    await expect.poll(() => page.getByText(/'hit' is used by the tag itself/).isVisible()).toBe(true);
    await param.fill("fvid");
    await page.getByRole("button", { name: "Save settings" }).click();
    await expect.poll(() => page.getByText("Saved.").isVisible()).toBe(true);

    await nav(page, "Offers");
    await page.getByRole("textbox", { name: "Offer URL" }).waitFor();
    await page.getByLabel("Name").fill("Strict network");
    await page.getByLabel("Offer URL").fill("https://strict.example/o?clickid={hit}");
    const pass = page.getByLabel("Pass the visitor ID (fvid) on redirect");
    expect(await pass.isChecked()).toBe(true);
    await pass.uncheck();
    await page.getByRole("button", { name: "Create offer" }).click();
    const listed = page.getByLabel("Append the visitor ID (fvid) to Strict network");
    await expect.poll(() => listed.isVisible()).toBe(true);
    expect(await listed.isChecked()).toBe(false);

    await nav(page, "Landers");
    await page.getByRole("textbox", { name: "Lander URL" }).waitFor();
    await page.getByLabel("Name").fill("Quiz");
    await page.getByLabel("Lander URL").fill("https://pages.example/quiz");
    await page.getByRole("button", { name: "Create lander" }).click();
    await expect.poll(() => page.getByRole("cell", { name: "Quiz", exact: true }).isVisible()).toBe(true);

    await nav(page, "Funnels");
    await page.getByRole("link", { name: "New funnel" }).click();
    await page.getByLabel("Funnel name").fill("Rules funnel");
    await page.getByRole("button", { name: "+ Lander" }).click();
    await page.getByRole("button", { name: "Add lander" }).click();
    await page.getByRole("button", { name: "+ Offer" }).click();
    await page.getByRole("button", { name: "Add offer" }).click();
    const nodes = page.locator(".react-flow__node");
    await expect.poll(() => nodes.count()).toBe(3);
    await connectNodes(page, 0, 1);
    await connectNodes(page, 1, 2);
    await expect.poll(() => page.getByText("Action 1").isVisible()).toBe(true);
    // The label's background takes the pointer: right-click the action as a user does.
    await page.getByText("Action 1").click({ button: "right", force: true });
    await page.getByLabel("Trigger a conversion").check();
    const every = page.getByLabel("Conversion: count every time");
    expect(await every.isChecked()).toBe(false);
    await every.check();
    await page.getByRole("button", { name: "Save funnel" }).click();
    await expect.poll(() => page.url()).toMatch(/\/funnels\/[0-9a-f-]{36}$/);
    expect(errors).toEqual([]);

    const actions = await t.db.select().from(schema.funnelActions);
    expect(actions.map((a) => a.triggers)).toEqual([{ conversion: { revenue: null, everyTime: true } }]);

    // The tracker follows it: fvid on the lander, none on the opted-out offer.
    const [domain] = await t.db.select().from(schema.trackingDomains);
    const [funnel] = await t.db.select().from(schema.funnels).where(eq(schema.funnels.name, "Rules funnel"));
    const host = domain?.host ?? "";
    const entry = await tracker.app.inject({ method: "GET", url: `/fts/${funnel?.id}`, headers: { host } });
    expect(entry.statusCode, entry.body).toBe(302);
    const vid = /hrvid=([^;]+)/.exec(String(entry.headers["set-cookie"]))?.[1];
    expect(new URL(String(entry.headers.location)).searchParams.get("fvid")).toBe(vid);
    const click = await tracker.app.inject({
      method: "GET",
      url: "/action/1",
      headers: { host, cookie: `hrvid=${vid}` },
    });
    const offerUrl = new URL(String(click.headers.location));
    expect(offerUrl.host).toBe("strict.example");
    expect([...offerUrl.searchParams.keys()]).toEqual(["clickid"]);
    await context.close();
  }, 180_000);
});
