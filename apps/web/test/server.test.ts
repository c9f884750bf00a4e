import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningWeb, startWeb } from "../src/server/index.ts";

// Issue 18 (14): the dashboard's server sends a CSP that forbids framing, nosniff and a referrer
// policy on every answer, and tells the api the browser's address (for the sign-in limits).

let dist: string;
let upstream: Server;
let web: RunningWeb;
const seen: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  dist = mkdtempSync(path.join(tmpdir(), "hitrail-web-"));
  mkdirSync(path.join(dist, "assets"));
  writeFileSync(path.join(dist, "index.html"), "<!doctype html><div id=root></div>");
  writeFileSync(path.join(dist, "assets", "app-1234.js"), "console.log(1)");
  upstream = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { "content-type": "application/json" }).end('{"result":{"data":{"ok":true}}}');
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  web = await startWeb({
    apiUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    port: 0,
    distDir: dist,
  });
});

afterAll(async () => {
  await web?.close();
  upstream?.close();
  rmSync(dist, { recursive: true, force: true });
});

describe("the dashboard server", () => {
  it.each([
    "/",
    "/funnels/abc",
    "/invite/some-token",
    "/assets/app-1234.js",
    "/assets/missing.js",
    "/trpc/system.health",
  ])("%s carries the security headers", async (url) => {
    const res = await fetch(`${web.url}${url}`);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
  });

  it("passes the browser's address to the api, not one it was sent", async () => {
    seen.length = 0;
    await fetch(`${web.url}/trpc/system.health`, { headers: { "x-forwarded-for": "203.0.113.99" } });
    expect(seen[0]?.["x-forwarded-for"]).toBe("127.0.0.1");
  });
});
