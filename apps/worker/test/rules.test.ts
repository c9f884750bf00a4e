import { createBackoffStrategy, POSTBACK_RETRY_DELAYS_MS, RetryLater, retryDelay } from "@hitrail/queue";
import { describe, expect, it } from "vitest";
import { destinationOf, HostLimiter } from "../src/postbacks/host-limiter.ts";
import { allowListProblems, parseRetryAfter } from "../src/postbacks/sender.ts";
import { isAuthorized } from "../src/server.ts";

const NOW = Date.UTC(2026, 4, 17, 12);

describe("retry schedule", () => {
  it("spans about a day over 12 attempts", () => {
    const total = POSTBACK_RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
    expect(POSTBACK_RETRY_DELAYS_MS).toHaveLength(11);
    expect(total / 3_600_000).toBeGreaterThan(22);
    expect(total / 3_600_000).toBeLessThan(26);
  });

  it("jitters each delay within ±20 % and repeats the last one", () => {
    const at = (random: number, n: number) =>
      retryDelay(n, { delaysMs: [1_000, 10_000], jitter: 0.2, random: () => random });
    expect(at(0, 1)).toBe(800);
    expect(at(0.5, 1)).toBe(1_000);
    expect(at(0.999_999, 1)).toBe(1_200);
    expect(at(0.5, 2)).toBe(10_000);
    expect(at(0.5, 9)).toBe(10_000);
  });

  it("lets an error carry its own delay (Retry-After) and refuses unknown types", () => {
    const strategy = createBackoffStrategy({ postback: { delaysMs: [5], jitter: 0, random: Math.random } });
    expect(strategy(1, "hitrail-postback", new Error("x"))).toBe(5);
    expect(strategy(1, "hitrail-postback", new RetryLater("slow down", 30_000))).toBe(30_000);
    expect(() => strategy(1, "mystery", new Error("x"))).toThrow(/unknown backoff type/);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(parseRetryAfter("120", NOW)).toBe(120_000);
    expect(parseRetryAfter(new Date(NOW + 90_000).toUTCString(), NOW)).toBe(90_000);
    expect(parseRetryAfter("soon", NOW)).toBeNull();
    expect(parseRetryAfter(undefined, NOW)).toBeNull();
  });
});

describe("destinations and the allow-list", () => {
  it("limits concurrent sends per host, lets a few wait briefly and turns the rest away", async () => {
    const limiter = new HostLimiter(2, 1);
    const host = destinationOf("https://Ads.Example:8443/pb?x=1")!;
    expect(host).toBe("https://ads.example:8443");
    expect(await Promise.all([limiter.acquire(host, 0), limiter.acquire(host, 0)])).toEqual([true, true]);
    expect(await limiter.acquire(host, 0)).toBe(false);
    expect(await limiter.acquire("https://other.example", 0)).toBe(true);
    // One may wait; it gets the next freed slot. A second waiter is one too many.
    const waiting = limiter.acquire(host, 1_000);
    expect(limiter.isFull(host)).toBe(true);
    expect(await limiter.acquire(host, 1_000)).toBe(false);
    limiter.release(host);
    expect(await waiting).toBe(true);
    expect(limiter.active(host)).toBe(2);
    // A wait that runs out gives up.
    expect(await limiter.acquire(host, 20)).toBe(false);
    expect(destinationOf("javascript:alert(1)")).toBeNull();
  });

  it("lines up jobs sent back for a busy host at the rate it is served", () => {
    const limiter = new HostLimiter(4);
    const host = "https://ads.example";
    // No rate measured yet: 4 slots turning over once a second, a place every 250 ms.
    expect([0, 1, 2].map(() => limiter.deferral(host, NOW, 100))).toEqual([NOW + 100, NOW + 350, NOW + 600]);
    // The line never reaches further out than the cap, and a later arrival never jumps ahead of it.
    expect(limiter.deferral(host, NOW, 100, 500)).toBe(NOW + 500);
    expect(limiter.deferral(host, NOW + 10, 100)).toBeGreaterThanOrEqual(NOW + 750);
  });

  it("accepts addresses and CIDRs only", () => {
    expect(allowListProblems(["127.0.0.0/8", "10.1.2.3", "fd00::/8"])).toEqual([]);
    expect(allowListProblems(["localhost", "10.0.0.0/33"])).toHaveLength(2);
  });

  it("accepts the admin token as Bearer or as a Basic password, nothing else", () => {
    const token = "0123456789abcdef";
    expect(isAuthorized(`Bearer ${token}`, token)).toBe(true);
    expect(isAuthorized(`Basic ${Buffer.from(`any:${token}`).toString("base64")}`, token)).toBe(true);
    expect(isAuthorized(`Basic ${Buffer.from(token).toString("base64")}`, token)).toBe(false);
    expect(isAuthorized("Bearer 0123456789abcdeF", token)).toBe(false);
    expect(isAuthorized(undefined, token)).toBe(false);
  });
});
