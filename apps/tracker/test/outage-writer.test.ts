import { newId } from "@hitrail/db";
import { eq, schema } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HitRow, HitWriter } from "../src/hit-writer.ts";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";

let h: TrackerHarness;
beforeAll(async () => {
  h = await createTrackerHarness();
});
afterAll(async () => {
  await h?.close();
});

const row = (workspaceId: string, over: Partial<HitRow> = {}): HitRow => ({
  id: newId(),
  workspaceId,
  visitorId: newId(),
  funnelId: newId(),
  nodeId: newId(),
  pageKind: "lander",
  createdAt: new Date(),
  ...over,
});

const stored = async (workspaceId: string) =>
  (
    await h.t.db
      .select({ id: schema.hits.id })
      .from(schema.hits)
      .where(eq(schema.hits.workspaceId, workspaceId))
  ).map((r) => r.id);

describe("hit writer under bad rows and big batches", () => {
  it("a row Postgres refuses fails alone; its batch-mates commit", async () => {
    const ws = newId();
    const good = Array.from({ length: 99 }, () => row(ws));
    const bad = row(ws, { cost: "not money" });
    const results = await Promise.allSettled(
      [...good.slice(0, 50), bad, ...good.slice(50)].map((r) => h.deps.hits.write(r)),
    );
    expect(results.filter((r) => r.status === "rejected")).toHaveLength(1);
    expect(results[50]?.status).toBe("rejected");
    expect((await stored(ws)).sort()).toEqual(good.map((r) => r.id).sort());
  });

  it("a spooled row Postgres refuses is set aside in the dead-letter stream; the rest replays", async () => {
    const ws = newId();
    const rows = [row(ws), row(ws, { pageKind: "bogus" as HitRow["pageKind"] }), row(ws)];
    for (const r of rows) await h.redis.xadd(h.deps.hits.spoolKey, "*", "hit", JSON.stringify(r));
    expect(await h.deps.hits.replayOnce()).toBe(3);
    expect(await h.deps.hits.spoolLength()).toBe(0);
    expect((await stored(ws)).sort()).toEqual([rows[0]?.id, rows[2]?.id].sort());
    const dead = (await h.redis.xrange(`${h.deps.hits.spoolKey}:dead`, "-", "+")) as Array<
      [string, string[]]
    >;
    expect(dead.map(([, f]) => JSON.parse(f[1] ?? "{}").id)).toEqual([rows[1]?.id]);
  });

  it("commits a batch past Postgres' 65,535 bind-parameter limit", async () => {
    const ws = newId();
    const writer = new HitWriter(h.t.db, h.redis, `${h.deps.prefix}:big`, h.deps.logger, {
      maxBatch: 10_000,
      waitMs: 50,
    });
    // Every column set: as one parameter per column these 4,000 rows would need 92,000 (HIT_BATCH_MAX
    // allows batches of 10,000).
    const full = (): HitRow =>
      row(ws, {
        pageId: newId(),
        trafficSourceId: newId(),
        externalId: "e",
        campaign: "c",
        cost: "0.1",
        trackingFields: { a: "b" },
        prevHitId: newId(),
        ip: "127.0.0.1",
        userAgent: "ua",
        deviceType: "desktop",
        os: "Linux",
        browser: "Firefox",
        country: "GB",
        language: "en",
        referrer: "https://r.example/",
        isBot: false,
      });
    const outcomes = await Promise.all(Array.from({ length: 4_000 }, () => writer.write(full())));
    expect(outcomes.every((o) => o === "committed")).toBe(true);
    expect(await stored(ws)).toHaveLength(4_000);
    writer.stop();
  });
});
