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
