import { createHash, randomBytes } from "node:crypto";
import { insertAuthSession, insertMembership, insertUser, newIdAt, recomputeRollups } from "@hitrail/db";
import { factories, type TestDatabase } from "@hitrail/db/testing";
import { schema } from "@hitrail/db/testing/sql";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningWeb } from "../src/server/index.ts";
import { chromiumAvailable, type DashboardStack, startDashboardStack } from "./support/stack.ts";

// The Costs screen in Chromium against the real api: set a cost over a day, upload a cost file
// with bad lines (refused whole, line by line) and a good one, undo an update; the report follows.

const available = chromiumAvailable;

let stack: DashboardStack;
let t: TestDatabase;
let api: DashboardStack["api"];
let web: RunningWeb;
let browser: Browser;

beforeAll(async () => {
  if (!available) return;
  stack = await startDashboardStack({ name: "web-costs" });
  ({ t, api, web, browser } = stack);
}, 180_000);

afterAll(async () => {
  await stack?.close();
});

describe.skipIf(!available)("the Costs screen in Chromium", () => {
  it("sets a cost, refuses a bad cost file line by line, applies a good one and undoes an update", async () => {
    const { workspace } = await factories.workspace(t.db);
    const kit = await factories.campaign(t.db, workspace.id);
    const day = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
    const at = [9, 12, 18].map((hour) => Date.parse(`${day}T${String(hour).padStart(2, "0")}:00:00Z`));
    await t.db.insert(schema.hits).values(
      at.map((ms, i) => ({
        id: newIdAt(ms),
        workspaceId: workspace.id,
        visitorId: newIdAt(ms),
        funnelId: kit.funnelId,
        nodeId: kit.nodes.lander,
        pageId: kit.landerId,
        pageKind: "lander" as const,
        trafficSourceId: kit.trafficSourceId,
        cost: "1",
        trackingFields: { zone: i === 0 ? "z1" : "z2" },
        createdAt: new Date(ms),
      })),
    );
    await recomputeRollups(t.db, {
      workspaceId: workspace.id,
      from: new Date(at[0]! - 3_600_000),
      to: new Date(at[2]! + 3_600_000),
    });
    const user = await insertUser(t.db, { email: "buyer@example.com", name: null, passwordHash: "x" });
    await insertMembership(t.db, { workspaceId: workspace.id, userId: user.id, role: "member" });
    const token = randomBytes(32).toString("base64url");
    await insertAuthSession(t.db, {
      userId: user.id,
      tokenHash: createHash("sha256").update(token).digest("hex"),
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    const reportCost = async () => {
      const input = encodeURIComponent(
        JSON.stringify({ workspaceId: workspace.id, from: day, to: day, groupBy: [] }),
      );
      const res = await fetch(`${api.url}/trpc/reports.run?input=${input}`, {
        headers: { cookie: `hitrail_session=${token}` },
      });
      const body = (await res.json()) as { result: { data: { totals: { cost: string } } } };
      return body.result.data.totals.cost;
    };
    expect(await reportCost()).toBe("3");

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addCookies([{ name: "hitrail_session", value: token, url: web.url }]);
    const page = await context.newPage();
    stack.watch(page);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(web.url);
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Costs", exact: true })
      .click();

    await page.getByLabel("Traffic source").selectOption({ label: "Demo traffic source" });
    await page.getByLabel(/^From/).fill(day);
    await page.getByLabel(/^To/).fill(day);
    await page.getByLabel(/^Amount \(/).fill("100");
    await page.getByRole("button", { name: "Set cost" }).click();
    await expect
      .poll(() => page.getByRole("status").first().textContent())
      .toMatch(/spread over 3 visit\(s\)/);
    expect(await reportCost()).toBe("100");
    await expect.poll(() => page.getByRole("cell", { name: "live", exact: true }).count()).toBe(1);

    await page.getByLabel("Cost file").setInputFiles({
      name: "bad.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(
        `date,source,zone,amount\n${day},Demo traffic source,z1,10\n${day},Nobody,z2,5\nnope,Demo traffic source,z2,1\n`,
      ),
    });
    await page.getByRole("button", { name: "Upload" }).click();
    const alert = page.getByRole("alert");
    await expect.poll(() => alert.textContent()).toMatch(/Nothing was changed: 2 bad line\(s\)/);
    expect(await alert.textContent()).toMatch(/line 3: source 'Nobody' is not a traffic source/);
    expect(await alert.textContent()).toMatch(/line 4: date 'nope' is not a date/);
    expect(await reportCost()).toBe("100");

    await page.getByLabel("Cost file").setInputFiles({
      name: "good.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(`date,source,zone,amount\n${day},Demo traffic source,z1,10\n`),
    });
    await page.getByRole("button", { name: "Upload" }).click();
    await expect.poll(() => page.getByText("good.csv: 1 cost(s) applied.").isVisible()).toBe(true);
    // z1's one visit now costs 10; the two z2 visits keep their share of 100 (33.33 and 33.34).
    expect(await reportCost()).toBe("76.67");

    await page.getByRole("button", { name: /^Undo cost update of Demo traffic source · zone = z1/ }).click();
    await expect.poll(() => page.getByRole("cell", { name: /^undone/ }).count()).toBe(1);
    expect(await reportCost()).toBe("100");
    expect(errors).toEqual([]);
    await context.close();
  }, 180_000);
});
