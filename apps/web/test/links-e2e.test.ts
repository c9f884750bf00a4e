import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { AppRouter } from "@hitrail/api";
import type { RunningTracker } from "@hitrail/tracker";
import { createTRPCClient, httpLink } from "@trpc/client";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningWeb } from "../src/server/index.ts";
import { signUp } from "./support/dashboard.ts";
import { chromiumAvailable, type DashboardStack, startDashboardStack } from "./support/stack.ts";

// Issue 22 in Chromium, short: the traffic source form resets what a template set, a mistyped macro
// is caught as it is typed, and the links the Tracking codes screen shows are followed as copied
// (the tracker on a port of its own, which every link carries; *.localhost is this machine).

const available = chromiumAvailable;

let stack: DashboardStack;
let tracker: RunningTracker;
let web: RunningWeb;
let browser: Browser;
let port: number;
/** The user's own pages (lander, offer) on pages.example / offers.example, served here. */
let pages: Server;
let pagesPort: number;
let actionHref = "";

beforeAll(async () => {
  if (!available) return;
  // *.localhost is this machine (RFC 6761), which this Chromium needs told; the user's pages too.
  stack = await startDashboardStack({
    name: "web-links",
    tracker: true,
    baseDomain: "localhost",
    resolveToLocal: ["*.localhost", "pages.example", "offers.example"],
  });
  ({ web, browser } = stack);
  tracker = stack.tracker as RunningTracker;
  port = Number(new URL(tracker.url).port);
  pages = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(req.url?.startsWith("/quiz") ? `<a id="go" href="${actionHref}">Go</a>` : "<p>offer</p>");
  });
  await new Promise<void>((resolve) => pages.listen(0, "127.0.0.1", resolve));
  pagesPort = (pages.address() as AddressInfo).port;
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => (pages ? pages.close(resolve) : resolve(undefined)));
  await stack?.close();
});

describe.skipIf(!available)("links in Chromium", () => {
  it("template reset, live macro check, and the shown links followed as copied", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    stack.watch(page);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));

    await page.goto(web.url);
    await signUp(page, { email: "links@example.com", workspace: "Acme", slug: "acme" });
    const main = page.getByRole("navigation", { name: "Main" });
    await expect.poll(() => main.isVisible()).toBe(true);

    await main.getByRole("link", { name: "Traffic sources", exact: true }).click();
    const template = page.getByLabel("Template");
    await template.selectOption({ label: "Facebook / Meta" });
    await expect.poll(() => page.getByLabel("Click ID parameter").inputValue()).toBe("fbclid");
    await template.selectOption({ label: "Custom" });
    expect(await page.getByLabel("Click ID parameter").inputValue()).toBe("external");
    expect(await page.getByLabel("Campaign parameter").inputValue()).toBe("campaign");
    expect(await page.getByLabel("Name", { exact: true }).inputValue()).toBe("");
    await page.getByLabel("Name", { exact: true }).fill("My network");
    await page.getByLabel("Click ID parameter").fill("clickid");
    await page.getByLabel("Cost parameter").fill("cpc");
    await page.getByLabel("Postback URL").fill("https://ads.example/pb?cid={external}&p={payot}");
    await expect
      .poll(() => page.getByText("{payot} is not a known macro: did you mean {payout}?").isVisible())
      .toBe(true);
    await page.getByRole("button", { name: "Use {payout}" }).click();
    expect(await page.getByLabel("Postback URL").inputValue()).toBe(
      "https://ads.example/pb?cid={external}&p={payout}",
    );
    await page.getByRole("button", { name: "Create traffic source" }).click();
    await expect
      .poll(() => page.getByRole("cell", { name: "My network", exact: true }).isVisible())
      .toBe(true);

    // The rest of the campaign through the api, as the signed-in user (the dashboard's own /trpc).
    const cookie = (await context.cookies(web.url)).map((c) => `${c.name}=${c.value}`).join("; ");
    const c = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${web.url}/trpc`, headers: { cookie } })],
    });
    const [ws] = await c.workspaces.list.query();
    if (!ws) throw new Error("no workspace");
    const lander = await c.landers.create.mutate({
      workspaceId: ws.id,
      name: "Quiz",
      url: `http://pages.example:${pagesPort}/quiz`,
    });
    const offer = await c.offers.create.mutate({
      workspaceId: ws.id,
      name: "Sweeps",
      url: `http://offers.example:${pagesPort}/o?sub1={hit}`,
      defaultPayout: "25",
    });
    await c.funnels.save.mutate({
      workspaceId: ws.id,
      name: "Quiz funnel",
      entryNodeId: "entry",
      nodes: [
        { id: "entry", name: "Entry", config: { kind: "entry", routes: [{ to: "lp", weight: 1 }] } },
        { id: "lp", name: "Quiz", config: { kind: "lander", pages: [{ pageId: lander.id, weight: 1 }] } },
        { id: "of", name: "Sweeps", config: { kind: "offer", pages: [{ pageId: offer.id, weight: 1 }] } },
      ],
      actions: [{ from: "lp", number: 1, to: "of", triggers: {} }],
    });

    await main.getByRole("link", { name: "Tracking codes", exact: true }).click();
    const origin = `http://acme.localhost:${port}`;
    const entrance = page.locator("code", { hasText: "/fts/" });
    await expect.poll(() => entrance.textContent()).toMatch(/clickid=REPLACE&cpc=REPLACE$/);
    const entranceUrl = (await entrance.textContent()) ?? "";
    expect(entranceUrl.startsWith(`${origin}/fts/`)).toBe(true);
    const action = page.locator("code", { hasText: `${origin}/action/1` }).first();
    await expect.poll(() => action.textContent()).toBe(`${origin}/action/1`);
    await expect.poll(() => page.locator("code", { hasText: 'data-node="' }).count()).toBe(2);
    expect(await page.getByText("On its own, the universal tag records no page view").isVisible()).toBe(true);
    const offerUrl = await page.locator("code", { hasText: "offers.example" }).first().textContent();
    // As the redirect sends it: the visitor ID rides along under the workspace's parameter.
    expect(offerUrl).toBe(`http://offers.example:${pagesPort}/o?sub1={hit}&vid={vid}`);

    // A visitor: the entrance link as the network fills it, a lander with the action link as
    // copied, and the offer the tracker sends them to.
    actionHref = (await action.textContent()) ?? "";
    await page.goto(entranceUrl.replace("clickid=REPLACE", "clickid=abc").replace("cpc=REPLACE", "cpc=0.1"));
    expect(page.url()).toMatch(/^http:\/\/pages\.example:\d+\/quiz\?vid=[0-9a-f-]{36}$/);
    await page.click("#go");
    await expect.poll(() => page.url()).toMatch(/^http:\/\/offers\.example:/);
    const hit = new URL(page.url()).searchParams.get("sub1") ?? "";
    const vid = new URL(page.url()).searchParams.get("vid") ?? "";
    expect(page.url()).toBe((offerUrl ?? "").replace("{hit}", hit).replace("{vid}", vid));
    expect(vid).toMatch(/^[0-9a-f-]{36}$/);
    expect(hit).toMatch(/^[0-9a-f-]{36}$/);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
