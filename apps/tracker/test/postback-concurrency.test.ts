import { sql } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConversionWriter, conversionRecorderFor } from "../src/conversions/index.ts";
import { ConversionRecorder } from "../src/conversions/record-conversion.ts";
import type { ConversionCommand } from "../src/conversions/types.ts";
import { createTrackerHarness, type TrackerHarness } from "./harness.ts";
import { conversionTables } from "./support/postback-db.ts";
import { clickThrough, postback } from "./support/postback-hits.ts";

let h: TrackerHarness;

const command = (workspaceId: string, hitId: string, tx: string): ConversionCommand => ({
  workspace: { workspaceId, currency: "USD", sessionTtlSeconds: 345_600 },
  channel: "postback",
  target: { by: "hit", hitId },
  tx,
  revenue: { kind: "value", value: "5" },
  statusWord: null,
  rawStatus: null,
  disablePostbacks: false,
  notes: [],
  meta: { method: "GET", ip: "127.0.0.1", params: {}, receivedAt: h.clock.now },
});
beforeAll(async () => {
  h = await createTrackerHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("postbacks at once", () => {
  it("50 identical postbacks make exactly one conversion", async () => {
    const t = await h.tenant();
    const path = await clickThrough(h, t);
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => postback(h, t.host, { hit: path.offer, tx: "SAME", rev: "10" })),
    );
    expect(answers.every((a) => a.statusCode === 200)).toBe(true);
    const outcomes = answers.map((a) => a.json().outcome as string);
    expect(outcomes.filter((o) => o === "created")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "ignored")).toHaveLength(49);
    const db = conversionTables(h.t.db, t.workspaceId);
    expect(await db.conversions()).toMatchObject([{ tx: "SAME", revenue: "10.000000", revision: 1 }]);
    expect(await db.revisions()).toHaveLength(1);
    expect(await db.log()).toHaveLength(50);
    // Every answer names the same conversion.
    expect(new Set(answers.map((a) => a.json().conversion.id)).size).toBe(1);
  });

  it("50 identical postbacks without tx make exactly one conversion", async () => {
    const t = await h.tenant();
    const path = await clickThrough(h, t);
    await Promise.all(Array.from({ length: 50 }, () => postback(h, t.host, { hit: path.offer })));
    expect(await conversionTables(h.t.db, t.workspaceId).conversions()).toHaveLength(1);
  });

  it("50 different tx at once make 50 conversions", async () => {
    const t = await h.tenant();
    const path = await clickThrough(h, t);
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        postback(h, t.host, { hit: path.offer, tx: `TX-${i}`, rev: String(i) }),
      ),
    );
    expect(answers.map((a) => a.json().outcome)).toEqual(Array(50).fill("created"));
    const conversions = await conversionTables(h.t.db, t.workspaceId).conversions();
    expect(conversions).toHaveLength(50);
    expect(new Set(conversions.map((c) => c.tx)).size).toBe(50);
  });

  it("the same identity with changing revenue: one conversion, one revision per change, in order", async () => {
    const t = await h.tenant();
    const path = await clickThrough(h, t);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        postback(h, t.host, { hit: path.offer, tx: "R", rev: String(i + 1) }),
      ),
    );
    const db = conversionTables(h.t.db, t.workspaceId);
    const [conversion, ...none] = await db.conversions();
    expect(none).toEqual([]);
    const revisions = await db.revisions();
    expect(revisions.map((r) => r.revision)).toEqual(revisions.map((_, i) => i + 1));
    // Each revision starts where the previous one ended: changes were applied one after another.
    for (let i = 1; i < revisions.length; i++)
      expect(revisions[i]?.previousRevenue).toBe(revisions[i - 1]?.revenue);
    expect(conversion?.revision).toBe(revisions.length);
    expect(conversion?.revenue).toBe(revisions.at(-1)?.revenue);
    expect(answers.filter((a) => a.json().outcome !== "ignored")).toHaveLength(revisions.length);
  });

  it("two tracker processes racing on the same identities still make one conversion each", async () => {
    const t = await h.tenant();
    const path = await clickThrough(h, t);
    // A second writer with its own connections: what another tracker process would be.
    const second = new ConversionRecorder({
      writer: new ConversionWriter(h.deps.db, h.deps.logger, h.deps.now),
      sessions: h.deps.sessions,
      logger: h.deps.logger,
      now: h.deps.now,
    });
    const first = conversionRecorderFor(h.deps);
    const isolatedBefore = first.writerStats.isolated;
    // Several rounds on fresh identities: a race is a matter of timing, so give it chances.
    for (let round = 0; round < 6; round++) {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 === 0 ? first : second).record(
            command(t.workspaceId, path.offer, `R${round}-${Math.floor(i / 2) % 4}`),
          ),
        ),
      );
      expect(results.every((r) => r.ok)).toBe(true);
    }
    const conversions = await conversionTables(h.t.db, t.workspaceId).conversions();
    expect(conversions).toHaveLength(24);
    expect(new Set(conversions.map((c) => c.tx)).size).toBe(24);
    // The advisory locks made them queue: no batch hit a unique violation and had to be retried.
    expect(first.writerStats.isolated - isolatedBefore + second.writerStats.isolated).toBe(0);
    await second.drain();
  });

  it("one postback the database refuses does not fail the others of its batch", async () => {
    const t = await h.tenant();
    const path = await clickThrough(h, t);
    // A refusal no validation can foresee, planted in this file's own database.
    await h.t.db.execute(sql`
      create or replace function poison_tx() returns trigger language plpgsql as $$
      begin
        if new.tx = 'poison' then raise exception 'refused' using errcode = '22023'; end if;
        return new;
      end $$`);
    await h.t.db.execute(
      sql`create trigger poison before insert on conversions for each row execute function poison_tx()`,
    );
    try {
      const recorder = conversionRecorderFor(h.deps);
      const isolatedBefore = recorder.writerStats.isolated;
      // Submitted in one tick, so they share a batch.
      const results = await Promise.all(
        ["a", "b", "poison", "c", "d"].map((tx) => recorder.record(command(t.workspaceId, path.offer, tx))),
      );
      expect(results.map((r) => r.httpStatus)).toEqual([200, 200, 503, 200, 200]);
      expect(recorder.writerStats.isolated).toBe(isolatedBefore + 1);
      // Over HTTP the refusal is a 503 to retry, never a 500.
      const alone = await postback(h, t.host, { hit: path.offer, tx: "poison" });
      expect(alone.statusCode).toBe(503);
      expect(alone.headers["retry-after"]).toBe("5");
      const conversions = await conversionTables(h.t.db, t.workspaceId).conversions();
      expect(conversions.map((c) => c.tx).sort()).toEqual(["a", "b", "c", "d"]);
    } finally {
      await h.t.db.execute(sql`drop trigger poison on conversions`);
    }
  });
});
