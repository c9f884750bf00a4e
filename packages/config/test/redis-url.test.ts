import { describe, expect, it } from "vitest";
import { describeRedisTarget, loadEnv, parseRedisUrl } from "../src/index.ts";

describe("parseRedisUrl", () => {
  it.each([
    ["redis://127.0.0.1:6379", { kind: "single", url: "redis://127.0.0.1:6379" }],
    [
      "rediss://user:pw@cache.example.com:6380/2",
      { kind: "single", url: "rediss://user:pw@cache.example.com:6380/2" },
    ],
    [
      "redis+cluster://10.0.0.1:7000,10.0.0.2:7001,redis-2.redis:7002",
      {
        kind: "cluster",
        tls: false,
        nodes: [
          { host: "10.0.0.1", port: 7000 },
          { host: "10.0.0.2", port: 7001 },
          { host: "redis-2.redis", port: 7002 },
        ],
      },
    ],
    [
      "rediss+cluster://default:s%40cret@a.example:6379,[::1]:6380/",
      {
        kind: "cluster",
        tls: true,
        username: "default",
        password: "s@cret",
        nodes: [
          { host: "a.example", port: 6379 },
          { host: "::1", port: 6380 },
        ],
      },
    ],
    [
      "redis+cluster://:pw@a:1",
      { kind: "cluster", tls: false, password: "pw", nodes: [{ host: "a", port: 1 }] },
    ],
  ])("%s", (url, expected) => {
    expect(parseRedisUrl(url)).toEqual(expected);
  });

  it.each([
    ["nope", /redis\+cluster:\/\//],
    ["http://x:1", /redis:\/\//],
    ["redis+cluster://", /redis\+cluster/],
    ["redis+cluster://a:1,b", /"b" must be host:port/],
    ["redis+cluster://a:99999", /must be host:port/],
    ["redis+cluster://a:1/0", /redis\+cluster/],
  ])("refuses %s", (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(message);
  });

  it("is what REDIS_URL accepts", () => {
    expect(loadEnv({ REDIS_URL: "redis+cluster://a:7000,b:7001" }).REDIS_URL).toBe(
      "redis+cluster://a:7000,b:7001",
    );
    expect(() => loadEnv({ REDIS_URL: "redis+cluster://a" })).toThrow(/REDIS_URL/);
  });

  it("describes a target without its password", () => {
    expect(describeRedisTarget(parseRedisUrl("redis://u:secret@h:1"))).toBe("redis://u:***@h:1");
    expect(describeRedisTarget(parseRedisUrl("redis+cluster://:secret@h:1,[::1]:2"))).toBe(
      "Redis Cluster (h:1, [::1]:2)",
    );
  });
});
