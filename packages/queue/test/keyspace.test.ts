import { Cluster, Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { bullPrefix, createRedis, isCluster, visitorKeys } from "../src/index.ts";

/** The hash tag Redis Cluster picks a key's slot by: the part inside the first `{…}`, if not empty. */
function hashTag(key: string): string {
  const open = key.indexOf("{");
  const close = open < 0 ? -1 : key.indexOf("}", open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
}

describe("key names on one Redis", () => {
  it("stay what they always were, so an upgrade strands no queued job and no live session", () => {
    expect(bullPrefix("hitrail")).toBe("hitrail:bull");
    expect(visitorKeys("hitrail", false, "ws1", "v1")).toEqual({
      meta: "hitrail:v:ws1:v1",
      hits: "hitrail:v:ws1:v1:h",
    });
  });
});

describe("key names on a Redis Cluster", () => {
  it("put every BullMQ key of a deployment under one hash tag", () => {
    const prefix = bullPrefix("hitrail", true);
    expect(prefix).toBe("{hitrail:q}");
    // BullMQ names its keys `${prefix}:${queue}:…`: all of them share the tag, so one slot.
    const tags = ["postbacks:wait", "postbacks:active", "rollups:id", "maintenance:repeat"].map((k) =>
      hashTag(`${prefix}:${k}`),
    );
    expect(new Set(tags)).toEqual(new Set(["hitrail:q"]));
  });

  it("keep a visitor's two keys in one slot and different visitors apart", () => {
    const a = visitorKeys("hitrail", true, "ws1", "v1");
    const b = visitorKeys("hitrail", true, "ws1", "v2");
    expect(a).toEqual({ meta: "hitrail:v:{ws1:v1}", hits: "hitrail:v:{ws1:v1}:h" });
    expect(hashTag(a.meta)).toBe(hashTag(a.hits));
    expect(hashTag(a.meta)).not.toBe(hashTag(b.meta));
    // The same visitor id in another workspace is another session, on its own slot.
    expect(hashTag(visitorKeys("hitrail", true, "ws2", "v1").meta)).not.toBe(hashTag(a.meta));
  });
});

describe("createRedis", () => {
  it("makes a cluster client from redis+cluster:// and a plain one from redis://", () => {
    const cluster = createRedis("redis+cluster://127.0.0.1:7001,127.0.0.1:7002", { lazyConnect: true });
    const single = createRedis("redis://127.0.0.1:6379", { lazyConnect: true });
    try {
      expect(cluster).toBeInstanceOf(Cluster);
      expect(isCluster(cluster)).toBe(true);
      expect((cluster as Cluster).options.redisOptions?.maxRetriesPerRequest).toBeNull();
      expect(single).toBeInstanceOf(Redis);
      expect(isCluster(single)).toBe(false);
    } finally {
      cluster.disconnect();
      single.disconnect();
    }
  });

  it("refuses a REDIS_URL it cannot read", () => {
    expect(() => createRedis("redis+cluster://nohost")).toThrow(/host:port/);
  });
});
