import { Writable } from "node:stream";
import { createTestDatabase, type TestDatabase } from "@hitrail/db/testing";
import { and, eq, schema, sql } from "@hitrail/db/testing/sql";
import { createLogger } from "@hitrail/observability";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConversion, insertPath, seedTenant, type Tenant } from "./support/factory.ts";
import { clearRedisPrefix, startTestWorker, type TestWorker, waitFor } from "./support/harness.ts";

// Issue 18, point 10: rollup sums must not overflow within the per-conversion bound, and a rollup
// job that cannot succeed goes to the dead letter instead of retrying forever.

// core's MAX_CONVERSION_REVENUE, written out so the test reads the same before and after the bound.
const MAX_CONVERSION_REVENUE = "1000000";

let t: TestDatabase;
let worker: TestWorker;
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  t = await createTestDatabase();
  const logger = createLogger({
    name: "worker-test",
    level: "info",
    destination: new Writable({
      write: (chunk, _e, cb) => {
        for (const line of String(chunk).split("\n")) if (line.trim()) lines.push(JSON.parse(line));
        cb();
      },
    }),
  });
  worker = await startTestWorker(t, { queues: ["rollups"], logger });
});

afterAll(async () => {
  await worker?.close();
  if (worker) await clearRedisPrefix(worker.prefix);
  await t?.drop();
});

const direct = (tenant: Tenant) =>
  and(
    eq(schema.conversionRollupsHourly.workspaceId, tenant.workspaceId),
    eq(schema.conversionRollupsHourly.touchKind, "direct"),
  );

async function directRows(tenant: Tenant) {
  return t.db
    .select({
      conversions: schema.conversionRollupsHourly.conversions,
      revenue: schema.conversionRollupsHourly.revenue,
    })
    .from(schema.conversionRollupsHourly)
    .where(direct(tenant));
}

async function drained(): Promise<boolean> {
  const [o] = await t.db.execute<{ n: number }>(
    sql`select count(*)::int as n from outbox where relayed_at is null`,
  );
  const counts = await worker.queues.get("rollups").getJobCounts("waiting", "active", "delayed");
  return o?.n === 0 && (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0) === 0;
}

describe("rollup money bounds", () => {
  it("max-value conversions on top of a trillion already rolled up sum exactly", async () => {
    const tenant = await seedTenant(t.db);
    const at = Date.UTC(2026, 3, 1, 9, 0);
    const first = await insertPath(t.db, tenant, { at });
    await createConversion(t.db, tenant, {
      hit: first.offer,
      revenue: MAX_CONVERSION_REVENUE,
      delivery: false,
    });
    await waitFor(async () => (await directRows(tenant)).length === 1 && (await drained()), {
      what: "the first rollup",
    });
    // A busy hour: almost a million conversions at the maximum are already in the row. numeric(18,6)
    // stopped at 999,999,999,999.999999, so the next two would have overflowed it.
    await t.db
      .update(schema.conversionRollupsHourly)
      .set({ revenue: sql`${schema.conversionRollupsHourly.revenue} + 999998000000` })
      .where(direct(tenant));
    for (let i = 0; i < 2; i++) {
      const path = await insertPath(t.db, tenant, { at: at + 1000 * (i + 1) });
      await createConversion(t.db, tenant, {
        hit: path.offer,
        revenue: MAX_CONVERSION_REVENUE,
        delivery: false,
      });
    }
    await waitFor(async () => (await directRows(tenant))[0]?.conversions === 3 && (await drained()), {
      what: "two max-value conversions rolled up",
    });
    expect(await directRows(tenant)).toEqual([{ conversions: 3, revenue: "1000001000000.000000" }]);
  });

  it("a rollup job that cannot succeed is dead-lettered once: failed, logged at error, counted", async () => {
    const tenant = await seedTenant(t.db);
    const at = Date.UTC(2026, 3, 2, 9, 0);
    const first = await insertPath(t.db, tenant, { at });
    await createConversion(t.db, tenant, { hit: first.offer, revenue: "5", delivery: false });
    await waitFor(async () => (await directRows(tenant)).length === 1 && (await drained()), {
      what: "the first rollup",
    });
    // The row at the very top of its column: any further revenue overflows it (SQLSTATE 22003).
    await t.db
      .update(schema.conversionRollupsHourly)
      .set({ revenue: "999999999999999999999999" })
      .where(direct(tenant));
    const second = await insertPath(t.db, tenant, { at: at + 1000 });
    const c = await createConversion(t.db, tenant, { hit: second.offer, revenue: "10", delivery: false });

    const queue = worker.queues.get("rollups");
    const failed = await waitFor(
      async () => (await queue.getFailed()).find((j) => j.data?.conversionId === c.conversionId),
      { what: "the job in the failed set" },
    );
    // Not retried: one attempt, and nothing left waiting or delayed for it.
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toMatch(/cannot succeed \(SQLSTATE 22003\)/);
    await waitFor(drained, { what: "nothing left to retry" });
    const metrics = await worker.metrics.registry.metrics();
    expect(metrics).toMatch(/hitrail_rollups_dead_total\{code="22003"\} 1/);
    expect(
      lines.some(
        (l) => l.level === 50 && l.conversionId === c.conversionId && String(l.msg).includes("dead-lettered"),
      ),
    ).toBe(true);
  });
});
