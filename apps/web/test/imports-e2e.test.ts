import { runStoredImport } from "@hitrail/conversions";
import { idTime, newId, newIdAt } from "@hitrail/db";
import { factories, type TestDatabase } from "@hitrail/db/testing";
import { eq, schema } from "@hitrail/db/testing/sql";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningWeb } from "../src/server/index.ts";
import { signUp } from "./support/dashboard.ts";
import { chromiumAvailable, type DashboardStack, startDashboardStack } from "./support/stack.ts";

// The import screen in Chromium against the real api: pick a CSV, see the guessed mapping and the
// preview, change a column, run it (the worker's job is run here), watch it finish in the history
// and download the refused rows.

const available = chromiumAvailable;

let stack: DashboardStack;
let t: TestDatabase;
let web: RunningWeb;
let browser: Browser;

beforeAll(async () => {
  if (!available) return;
  stack = await startDashboardStack({ name: "web-imports" });
  ({ t, web, browser } = stack);
}, 180_000);

afterAll(async () => {
  await stack?.close();
});

describe.skipIf(!available)("the import screen in Chromium", () => {
  it("upload → mapping → preview → run → progress → history → refused rows", async () => {
    const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
    stack.watch(page);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(web.url);
    await signUp(page, { email: "feeds@example.com", workspace: "Arbitrage", slug: "arb" });
    await expect.poll(() => page.getByRole("navigation", { name: "Main" }).isVisible()).toBe(true);

    const [workspace] = await t.db.select().from(schema.workspaces).where(eq(schema.workspaces.slug, "arb"));
    if (!workspace) throw new Error("no workspace");
    const kit = await factories.campaign(t.db, workspace.id);
    const offer = newIdAt(Date.now() - 3_600_000);
    await t.db.insert(schema.hits).values({
      id: offer,
      workspaceId: workspace.id,
      visitorId: newId(),
      funnelId: kit.funnelId,
      nodeId: kit.nodes.offerA,
      pageId: kit.offerIds[0],
      pageKind: "offer",
      createdAt: new Date(idTime(offer)),
    });

    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Imports", exact: true })
      .click();
    const csv = `subid,amount,order,note\n${offer},7.5,o-1,x\n${newId()},2,o-2,y\n`;
    await page
      .getByLabel("CSV file")
      .setInputFiles({ name: "feed.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    // "subid" is guessed as the hit; "amount" as the revenue; "order" is not a known name: map it by hand.
    await expect.poll(() => page.getByLabel("Hit ID").inputValue()).toBe("subid");
    expect(await page.getByLabel("Revenue").inputValue()).toBe("amount");
    await page.getByLabel("Transaction ID").selectOption("order");
    const preview = page.getByRole("table", { name: "Preview of the first rows" });
    await expect.poll(() => preview.getByRole("cell", { name: "create", exact: true }).count()).toBe(1);
    expect(await preview.getByRole("cell", { name: /hit not found/ }).count()).toBe(1);

    await page.getByRole("button", { name: "Import feed.csv" }).click();
    const history = page.getByRole("table", { name: "Imports" });
    await expect.poll(() => history.getByRole("cell", { name: "queued", exact: true }).count()).toBe(1);
    // The worker's job, run here.
    const [queued] = await t.db
      .select()
      .from(schema.conversionImports)
      .where(eq(schema.conversionImports.workspaceId, workspace.id));
    if (!queued) throw new Error("no import");
    await runStoredImport({ client: t.app, workspaceId: workspace.id, importId: queued.id });
    await expect
      .poll(() => history.getByRole("cell", { name: "done", exact: true }).count(), { timeout: 10_000 })
      .toBe(1);
    expect(await history.getByRole("cell", { name: "feeds@example.com" }).count()).toBe(1);

    const download = page.waitForEvent("download");
    await history.getByRole("button", { name: "Download the 1 refused rows of feed.csv" }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe("feed-refused.csv");
    const text = await (await file.createReadStream()).toArray();
    expect(Buffer.concat(text).toString()).toMatch(/^line,reason,subid,order,amount,note\n3,hit not found: /);
    expect(errors).toEqual([]);
  });
});
