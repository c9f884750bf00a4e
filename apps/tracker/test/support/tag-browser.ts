import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { expect } from "vitest";

/** Debian's Chromium: CI installs it (.ci/run); a machine without it skips the browser suites. */
export const CHROMIUM = "/usr/bin/chromium";
export const chromiumAvailable = existsSync(CHROMIUM);

export interface ViewAnswer {
  vid: string;
  hit: string;
  error?: string;
}

export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      // The tracker listens on 127.0.0.1 only; *.localhost could otherwise go to ::1.
      "--host-resolver-rules=MAP *.localhost 127.0.0.1",
      ...extraArgs,
    ],
  });
}

const isView = (r: { url(): string; request(): { method(): string } }) =>
  r.url().endsWith("/js/view") && r.request().method() === "POST";

/** Runs `go` and returns the tag's answer to the page view it causes. */
export async function viewAfter(page: Page, go: () => Promise<unknown>): Promise<ViewAnswer> {
  const [response] = await Promise.all([page.waitForResponse(isView), go()]);
  const answer = (await response.json()) as ViewAnswer;
  expect(answer.error, JSON.stringify(answer)).toBeUndefined();
  return answer;
}

/** Waits until the tag has rewritten the action link with the visitor (it does so after the view). */
export async function linkReady(page: Page): Promise<string> {
  // A string: this runs in the page, and the test's TypeScript has no DOM types.
  await page.waitForFunction('document.getElementById("go").href.includes("vid=")');
  return page.$eval("#go", (a) => (a as unknown as { href: string }).href);
}
