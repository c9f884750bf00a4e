import type { RunningTracker } from "@hitrail/tracker";
import type { Browser, Dialog } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningWeb } from "../src/server/index.ts";
import { connectNodes, nav, signUp } from "./support/dashboard.ts";
import { chromiumAvailable, type DashboardStack, startDashboardStack } from "./support/stack.ts";

// Editing in the dashboard, in Chromium against the real api: an offer edited with the create
// form's rules (errors by label), archived after a confirm, found under "Show archived" and restored;
// a funnel whose nodes name their pages, that asks before unsaved changes are left behind, and that
// the funnel list counts and clones; and a running tracker routes the next click after a save in the
// dashboard (of the funnel, or of a lander it sends to) with what was saved.

const available = chromiumAvailable;

let stack: DashboardStack;
let tracker: RunningTracker;
let web: RunningWeb;
let browser: Browser;

beforeAll(async () => {
  if (!available) return;
  stack = await startDashboardStack({ name: "web-editing", tracker: true });
  ({ web, browser } = stack);
  tracker = stack.tracker as RunningTracker;
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

/** The machine is shared and busy: a screen gets five seconds to show what it should. */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 5_000 });

describe.skipIf(!available)("editing in the dashboard", () => {
  it("edits an offer (errors by label), archives it after a confirm, restores it; the builder asks before leaving unsaved changes; the tracker routes the next click with what was saved", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    stack.watch(page);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));

    await page.goto(web.url);
    await signUp(page, { email: "editor@example.com", workspace: "Edit co", slug: "editco" });
    await poll(() => page.getByRole("navigation", { name: "Main" }).isVisible()).toBe(true);

    // An offer, then an edit the api refuses (named by the field's label), then one it takes.
    await nav(page, "Offers");
    await page.getByLabel("Name").fill("Sweepstakes");
    await page.getByLabel("Offer URL").fill("https://offers.example/o?clickid={hit}");
    await page.getByLabel("Default payout").fill("25");
    await page.getByRole("button", { name: "Create offer" }).click();
    const row = page.getByRole("row", { name: /Sweepstakes/ });
    await poll(() => row.textContent()).toMatch(/25\.00/);

    await page.getByRole("button", { name: "Edit Sweepstakes" }).click();
    const form = page.getByRole("form", { name: "Edit offer" });
    await form.getByLabel("Default payout").fill("lots");
    await form.getByRole("button", { name: "Save changes" }).click();
    const alert = form.getByRole("alert");
    await poll(() => alert.textContent()).toMatch(/^Default payout: must be an amount/);
    expect(await alert.textContent()).not.toContain("defaultPayout");
    await form.getByLabel("Default payout").fill("30");
    await form.getByRole("button", { name: "Save changes" }).click();
    await poll(() => row.textContent()).toMatch(/30\.00/);

    // Archive asks first; Cancel keeps it.
    await page.getByRole("button", { name: "Archive Sweepstakes" }).click();
    const dialog = page.getByRole("alertdialog");
    await poll(() => dialog.textContent()).toMatch(/Archive offer "Sweepstakes"\?/);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await poll(() => dialog.count()).toBe(0);
    expect(await row.count()).toBe(1);
    await page.getByRole("button", { name: "Archive Sweepstakes" }).click();
    await dialog.getByRole("button", { name: "Archive" }).click();
    await poll(() => row.count()).toBe(0);
    // Listed again under "Show archived", and restored from there.
    await page.getByLabel("Show archived").check();
    await poll(() => row.textContent()).toMatch(/archived/);
    await page.getByRole("button", { name: "Restore Sweepstakes" }).click();
    await page.getByLabel("Show archived").uncheck();
    await poll(() => row.count()).toBe(1);

    // A funnel: the lander node shows the lander's name, not "Lander".
    await nav(page, "Landers");
    // As a person would: the (empty) list is on screen before the form is filled.
    await poll(() => page.getByRole("cell", { name: "Nothing yet." }).count()).toBe(1);
    await page.getByLabel("Name").fill("Quiz page");
    await page.getByLabel("Lander URL").fill("https://pages.example/quiz");
    await page.getByRole("button", { name: "Create lander" }).click();
    await poll(() => page.getByRole("cell", { name: "Quiz page", exact: true }).count()).toBe(1);

    await nav(page, "Funnels");
    await page.getByRole("link", { name: "New funnel" }).click();
    await page.getByLabel("Funnel name").fill("Edit funnel");
    await page.getByRole("button", { name: "+ Lander" }).click();
    await page.getByRole("button", { name: "Add lander" }).click();
    const nodes = page.locator(".react-flow__node");
    await poll(() => nodes.nth(1).textContent()).toMatch(/Quiz page/);
    await connectNodes(page, 0, 1);
    await poll(() => page.locator(".react-flow__edge").count()).toBe(1);
    await page.getByRole("button", { name: "Save funnel" }).click();
    await poll(() => page.url()).toMatch(/\/funnels\/[0-9a-f-]{36}$/);
    const builderUrl = page.url();
    await poll(() => page.getByText("Unsaved changes").count()).toBe(0);

    // A change not saved: leaving by the menu asks; "stay" keeps the builder and the change.
    await page.getByLabel("Funnel name").fill("Edit funnel v2");
    await poll(() => page.getByText("Unsaved changes").count()).toBe(1);
    const asked: string[] = [];
    const answer = (accept: boolean) => (d: Dialog) => {
      asked.push(d.message());
      void (accept ? d.accept() : d.dismiss());
    };
    page.once("dialog", answer(false));
    await nav(page, "Offers", { settle: false });
    await poll(() => asked.length).toBe(1);
    expect(asked[0]).toMatch(/not saved/);
    expect(page.url()).toBe(builderUrl);
    expect(await page.getByLabel("Funnel name").inputValue()).toBe("Edit funnel v2");
    // The browser's Back button asks too; "stay" keeps the builder and the change, and asks again.
    page.once("dialog", answer(false));
    await page.goBack({ waitUntil: "commit" });
    await poll(() => asked.length).toBe(2);
    expect(asked[1]).toMatch(/not saved/);
    expect(page.url()).toBe(builderUrl);
    expect(await page.getByLabel("Funnel name").inputValue()).toBe("Edit funnel v2");
    page.once("dialog", answer(false));
    await page.goBack({ waitUntil: "commit" });
    await poll(() => asked.length).toBe(3);
    expect(page.url()).toBe(builderUrl);
    expect(await page.getByLabel("Funnel name").inputValue()).toBe("Edit funnel v2");
    page.once("dialog", answer(true));
    await nav(page, "Funnels");
    await poll(() => page.url()).toMatch(/\/funnels$/);
    expect(asked).toHaveLength(4);

    // The list counts the saved funnel's nodes (2) and clones it into a funnel of its own.
    const funnelRow = page.getByRole("row", { name: /Edit funnel/ });
    await poll(() => funnelRow.getByRole("cell").nth(1).textContent()).toBe("2");
    await page.getByRole("button", { name: "Clone Edit funnel" }).click();
    await poll(() => page.url()).not.toBe(builderUrl);
    await poll(() => page.getByLabel("Funnel name").inputValue()).toBe("Edit funnel (copy)");
    // Nothing changed in the copy: leaving does not ask.
    await nav(page, "Funnels");
    await poll(() => page.getByRole("row", { name: /Edit funnel \(copy\)/ }).count()).toBe(1);
    expect(asked).toHaveLength(4);

    // The tracker, warm with the funnel, gets the next click right after each save.
    const funnelId = builderUrl.split("/").pop() ?? "";
    const enter = async () => {
      const res = await tracker.app.inject({
        method: "GET",
        url: `/fts/${funnelId}`,
        headers: { host: "editco.track.test" },
      });
      expect(res.statusCode, res.body).toBe(302);
      return String(res.headers.location);
    };
    expect(await enter()).toMatch(/^https:\/\/pages\.example\/quiz(\?|$)/);
    await nav(page, "Landers");
    await page.getByRole("button", { name: "Edit Quiz page" }).click();
    const landerForm = page.getByRole("form", { name: "Edit lander" });
    await landerForm.getByLabel("Lander URL").fill("https://pages.example/quiz-v2");
    await landerForm.getByRole("button", { name: "Save changes" }).click();
    await poll(() => landerForm.count()).toBe(0);
    expect(await enter()).toMatch(/^https:\/\/pages\.example\/quiz-v2(\?|$)/);

    await page.getByLabel("Name").fill("Quiz B");
    await page.getByLabel("Lander URL").fill("https://pages.example/quiz-b");
    await page.getByRole("button", { name: "Create lander" }).click();
    await poll(() => page.getByRole("cell", { name: "Quiz B", exact: true }).count()).toBe(1);
    await nav(page, "Funnels");
    await page.getByRole("link", { name: "Edit funnel", exact: true }).click();
    await poll(() => nodes.count()).toBe(2);
    await nodes.nth(1).click();
    await page.getByRole("combobox", { name: /^Page 1/ }).selectOption({ label: "Quiz B" });
    await poll(() => nodes.nth(1).textContent()).toMatch(/Quiz B/);
    await page.getByRole("button", { name: "Save funnel" }).click();
    await poll(() => page.getByText("Saved.").count()).toBe(1);
    expect(await enter()).toMatch(/^https:\/\/pages\.example\/quiz-b(\?|$)/);

    expect(errors).toEqual([]);
    await context.close();
  }, 180_000);
});
