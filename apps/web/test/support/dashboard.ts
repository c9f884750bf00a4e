import type { Page } from "playwright-core";

// What every browser test of the dashboard does the same way.

/** Console errors and failed page scripts; a clean dashboard has none. */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  return errors;
}

/**
 * A click on the main menu, and (unless `settle` is false: a leave prompt may keep the page) a wait
 * until the screen it names is the one shown. React Router renders a navigation as a transition, so
 * the old screen stays up while the new one renders; the menu link is marked current in the same
 * commit that shows the new screen, so a field filled after this is the new screen's.
 */
export async function nav(page: Page, label: string, opts: { settle?: boolean } = {}): Promise<void> {
  const link = page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label, exact: true });
  await link.click();
  if (opts.settle !== false) await link.and(page.locator('[aria-current="page"]')).waitFor();
}

/** A new account through the sign-up form, then its first workspace; resolves once the menu shows. */
export async function signUp(
  page: Page,
  who: { email: string; workspace: string; slug: string },
  opts: { beforeSubmit?: () => Promise<unknown> } = {},
): Promise<void> {
  await page.getByRole("link", { name: "No account? Sign up" }).click();
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill("correct horse battery staple");
  await opts.beforeSubmit?.();
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByLabel("Workspace name").fill(who.workspace);
  await page.getByLabel("Slug").fill(who.slug);
  await page.getByRole("button", { name: "Create workspace" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

/** Draws a connection in the funnel builder: node `from`'s source handle dragged onto `to`'s target. */
export async function connectNodes(page: Page, from: number, to: number): Promise<void> {
  const nodes = page.locator(".react-flow__node");
  const a = await nodes.nth(from).locator(".react-flow__handle.source").boundingBox();
  const b = await nodes.nth(to).locator(".react-flow__handle.target").boundingBox();
  if (!a || !b) throw new Error("handle not visible");
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 10 });
  await page.mouse.up();
}
