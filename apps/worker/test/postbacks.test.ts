import { REJECTED_BEFORE_FIRE } from "@hitrail/core";
import { findDelivery, listDeliveryAttempts, replayDelivery } from "@hitrail/db";
import { createTestDatabase, type TestDatabase } from "@hitrail/db/testing";
import { deliverJob, jobIds } from "@hitrail/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  changeConversion,
  createConversion,
  insertPath,
  seedTenant,
  type Tenant,
} from "./support/factory.ts";
import {
  clearRedisPrefix,
  type Receiver,
  sleep,
  startReceiver,
  startTestWorker,
  type TestWorker,
  waitFor,
} from "./support/harness.ts";

let t: TestDatabase;
let receiver: Receiver;
let worker: TestWorker;
// Each test talks to its own path on the receiver; the reply depends on the path.
const replies = new Map<
  string,
  (n: number) => { status: number; headers?: Record<string, string>; delayMs?: number }
>();

beforeAll(async () => {
  t = await createTestDatabase();
  receiver = await startReceiver((req, n) => {
    const path = (req.url ?? "").split("?")[0] ?? "";
    return replies.get(path)?.(n) ?? { status: 200, body: "OK" };
  });
  // Few slots and a small per-host limit, so the starvation test means something.
  worker = await startTestWorker(t, {
    queues: ["postbacks"],
    postbacks: { timeoutMs: 1_000, concurrency: 6, hostConcurrency: 2 },
  });
});

afterAll(async () => {
  await worker?.close();
  await receiver?.close();
  if (worker) await clearRedisPrefix(worker.prefix);
  await t?.drop();
});

const received = (path: string) =>
  receiver.requests.filter((r) => r.url.startsWith(`${path}?`) || r.url === path);

async function tenantFor(path: string): Promise<Tenant> {
  return seedTenant(t.db, {
    postbackTemplate: `${receiver.url}${path}?click={external}&payout={payout}&tx={tx}`,
  });
}

const deliveryOf = (tenant: Tenant, deliveryId: string) =>
  findDelivery(t.db, { workspaceId: tenant.workspaceId, deliveryId });

async function settled(tenant: Tenant, deliveryId: string, status: string | string[], timeoutMs = 10_000) {
  const wanted = Array.isArray(status) ? status : [status];
  return waitFor(
    async () => {
      const d = await deliveryOf(tenant, deliveryId);
      return d && wanted.includes(d.status) ? d : null;
    },
    { timeoutMs, what: `delivery ${deliveryId} to be ${wanted.join("/")}` },
  );
}

describe("traffic-source postbacks", () => {
  it("fires exactly one postback with the right URL for a new conversion", async () => {
    const tenant = await tenantFor("/pb/once");
    const { offer, entry } = await insertPath(t.db, tenant);
    const { deliveryId } = await createConversion(t.db, tenant, { hit: offer, revenue: "12.50", tx: "T-1" });
    const delivery = await settled(tenant, deliveryId!, "delivered");
    await sleep(300);
    const got = received("/pb/once");
    expect(got).toHaveLength(1);
    expect(got[0]?.url).toBe(`/pb/once?click=${entry.externalId}&payout=12.5&tx=T-1`);
    expect(delivery.attempts).toBe(1);
    expect(delivery.deliveredAt).not.toBeNull();
    const attempts = await listDeliveryAttempts(t.db, {
      workspaceId: tenant.workspaceId,
      deliveryId: deliveryId!,
    });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ attempt: 1, statusCode: 200, error: null, url: delivery.url });
    expect(attempts[0]?.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("sends only the deliveries the tracker wrote (disable_postbacks writes none)", async () => {
    const tenant = await tenantFor("/pb/only-written");
    const a = await insertPath(t.db, tenant);
    const b = await insertPath(t.db, tenant);
    // The tracker decided: postbacks disabled for the first conversion, so it wrote no delivery.
    await createConversion(t.db, tenant, { hit: a.offer, revenue: "5", tx: "silent", delivery: false });
    const loud = await createConversion(t.db, tenant, { hit: b.offer, revenue: "7", tx: "loud" });
    await settled(tenant, loud.deliveryId!, "delivered");
    await sleep(300);
    const got = received("/pb/only-written");
    expect(got).toHaveLength(1);
    expect(got[0]?.url).toContain("tx=loud");
  });

  it("retries a failing receiver and logs every attempt: the 4th of 4 gets through", async () => {
    replies.set("/pb/flaky", (n) => ({ status: n < 3 ? 500 : 200 }));
    const tenant = await tenantFor("/pb/flaky");
    const { offer } = await insertPath(t.db, tenant);
    const { deliveryId } = await createConversion(t.db, tenant, { hit: offer, revenue: "3" });
    const delivery = await settled(tenant, deliveryId!, "delivered");
    expect(received("/pb/flaky")).toHaveLength(4);
    expect(delivery.attempts).toBe(4);
    const attempts = await listDeliveryAttempts(t.db, {
      workspaceId: tenant.workspaceId,
      deliveryId: deliveryId!,
    });
    expect(attempts.map((a) => [a.attempt, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 500],
      [4, 200],
    ]);
    expect(attempts.slice(0, 3).every((a) => a.error?.startsWith("HTTP 500"))).toBe(true);
  });

  it("sends one Idempotency-Key per delivery: the same on a retry, another for the next revision", async () => {
    replies.set("/pb/idempotent", (n) => ({ status: n === 0 ? 500 : 200 }));
    const tenant = await tenantFor("/pb/idempotent");
    const { offer } = await insertPath(t.db, tenant);
    const created = await createConversion(t.db, tenant, { hit: offer, revenue: "4", tx: "K-1" });
    await settled(tenant, created.deliveryId!, "delivered");
    const updated = await changeConversion(t.db, tenant, {
      conversionId: created.conversionId,
      action: "update",
      revenue: "6",
    });
    await settled(tenant, updated.deliveryId!, "delivered");
    const keys = received("/pb/idempotent").map((r) => r.headers["idempotency-key"]);
    // Attempt 1 got a 500, attempt 2 (the retry) went through, then the update's own delivery.
    expect(keys).toEqual([`${created.deliveryId}:1`, `${created.deliveryId}:1`, `${updated.deliveryId}:2`]);
    expect(updated.deliveryId).not.toBe(created.deliveryId);
  });

  it("dead-letters a delivery once every attempt has failed", async () => {
    replies.set("/pb/down", () => ({ status: 503 }));
    const tenant = await tenantFor("/pb/down");
    const { offer } = await insertPath(t.db, tenant);
    const { deliveryId } = await createConversion(t.db, tenant, { hit: offer, revenue: "3" });
    const delivery = await settled(tenant, deliveryId!, "dead", 20_000);
    expect(delivery.attempts).toBe(12);
    expect(delivery.lastError).toMatch(/gave up after 12 attempts/);
    expect(received("/pb/down")).toHaveLength(12);
  });

  it("stops at 410 Gone", async () => {
    replies.set("/pb/gone", () => ({ status: 410 }));
    const tenant = await tenantFor("/pb/gone");
    const { offer } = await insertPath(t.db, tenant);
    const { deliveryId } = await createConversion(t.db, tenant, { hit: offer, revenue: "3" });
    const delivery = await settled(tenant, deliveryId!, "dead");
    await sleep(300);
    expect(received("/pb/gone")).toHaveLength(1);
    expect(delivery.lastStatusCode).toBe(410);
    expect(delivery.lastError).toMatch(/410 Gone: not retried/);
  });

  it("honours Retry-After on 429", async () => {
    replies.set("/pb/slow-down", (n) =>
      n === 0 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 },
    );
    const tenant = await tenantFor("/pb/slow-down");
    const { offer } = await insertPath(t.db, tenant);
    const { deliveryId } = await createConversion(t.db, tenant, { hit: offer, revenue: "3" });
    await settled(tenant, deliveryId!, "delivered");
    const [first, second] = received("/pb/slow-down");
    // The schedule alone would retry after 20 ms; the receiver asked for a second.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
  });

  it("treats a redirect as a failure and never follows it", async () => {
    replies.set("/pb/moved", (n) =>
      n === 0 ? { status: 302, headers: { location: `${receiver.url}/pb/elsewhere` } } : { status: 200 },
    );
    const tenant = await tenantFor("/pb/moved");
    const { offer } = await insertPath(t.db, tenant);
    const { deliveryId } = await createConversion(t.db, tenant, { hit: offer, revenue: "3" });
    await settled(tenant, deliveryId!, "delivered");
    expect(received("/pb/elsewhere")).toHaveLength(0);
    const attempts = await listDeliveryAttempts(t.db, {
      workspaceId: tenant.workspaceId,
      deliveryId: deliveryId!,
    });
    expect(attempts[0]).toMatchObject({ statusCode: 302 });
    expect(attempts[0]?.error).toMatch(/redirect \(HTTP 302\) .* not followed/);
  });

  it("gives up an attempt after the timeout and logs it", async () => {
    replies.set("/pb/hangs", (n) => (n === 0 ? { status: 200, delayMs: 3_000 } : { status: 200 }));
    const tenant = await tenantFor("/pb/hangs");
    const { offer } = await insertPath(t.db, tenant);
    const { deliveryId } = await createConversion(t.db, tenant, { hit: offer, revenue: "3" });
    await settled(tenant, deliveryId!, "delivered");
    const attempts = await listDeliveryAttempts(t.db, {
      workspaceId: tenant.workspaceId,
      deliveryId: deliveryId!,
    });
    expect(attempts[0]?.error).toMatch(/timeout: no response within 1 s/);
    expect(attempts[0]?.statusCode).toBeNull();
    expect(attempts[1]?.statusCode).toBe(200);
  });

  it("never fires a delayed postback whose conversion was rejected before it was due", async () => {
    const tenant = await tenantFor("/pb/delayed-reject");
    const { offer } = await insertPath(t.db, tenant);
    const created = await createConversion(t.db, tenant, {
      hit: offer,
      revenue: "9",
      delivery: { delayMs: 1_500 },
    });
    // The source does not take rejections: the tracker writes no delivery for the rejection.
    await changeConversion(t.db, tenant, {
      conversionId: created.conversionId,
      action: "reject",
      delivery: false,
    });
    const delivery = await settled(tenant, created.deliveryId!, "cancelled", 5_000);
    await sleep(500);
    expect(received("/pb/delayed-reject")).toHaveLength(0);
    expect(delivery.lastError).toBe(REJECTED_BEFORE_FIRE);
    expect(delivery.attempts).toBe(0);
    expect(
      await listDeliveryAttempts(t.db, { workspaceId: tenant.workspaceId, deliveryId: created.deliveryId! }),
    ).toEqual([]);
  });

  it("sends only the newest revision when a delayed postback is superseded", async () => {
    const tenant = await tenantFor("/pb/delayed-update");
    const { offer } = await insertPath(t.db, tenant);
    const created = await createConversion(t.db, tenant, {
      hit: offer,
      revenue: "9",
      delivery: { delayMs: 800 },
    });
    const updated = await changeConversion(t.db, tenant, {
      conversionId: created.conversionId,
      action: "update",
      revenue: "11.25",
      delivery: { delayMs: 800 },
    });
    await settled(tenant, updated.deliveryId!, "delivered", 5_000);
    const first = await settled(tenant, created.deliveryId!, "cancelled");
    expect(first.lastError).toMatch(/superseded by the postback for revision 2/);
    const got = received("/pb/delayed-update");
    expect(got).toHaveLength(1);
    expect(got[0]?.url).toContain("payout=11.25");
  });

  it("sends a delayed postback as written when the source takes no updates", async () => {
    const tenant = await tenantFor("/pb/delayed-no-updates");
    const { offer } = await insertPath(t.db, tenant);
    const created = await createConversion(t.db, tenant, {
      hit: offer,
      revenue: "9",
      delivery: { delayMs: 500 },
    });
    await changeConversion(t.db, tenant, {
      conversionId: created.conversionId,
      action: "update",
      revenue: "10",
      delivery: false,
    });
    await settled(tenant, created.deliveryId!, "delivered", 5_000);
    const got = received("/pb/delayed-no-updates");
    expect(got).toHaveLength(1);
    expect(got[0]?.url).toContain("payout=9");
  });

  it("replays a dead delivery under a new job id", async () => {
    let up = false;
    replies.set("/pb/replay", () => ({ status: up ? 200 : 410 }));
    const tenant = await tenantFor("/pb/replay");
    const { offer } = await insertPath(t.db, tenant);
    const { deliveryId } = await createConversion(t.db, tenant, { hit: offer, revenue: "4" });
    await settled(tenant, deliveryId!, "dead");
    up = true;
    const replay = await replayDelivery(t.db, {
      workspaceId: tenant.workspaceId,
      deliveryId: deliveryId!,
      job: replayJob(tenant.workspaceId, deliveryId!),
    });
    expect(replay).toMatchObject({
      ok: true,
      jobId: expect.stringMatching(new RegExp(`^deliver-${deliveryId}-replay-\\d+$`)),
    });
    const again = await replayDelivery(t.db, {
      workspaceId: tenant.workspaceId,
      deliveryId: deliveryId!,
      job: replayJob(tenant.workspaceId, deliveryId!),
    });
    expect(again).toEqual({ ok: false, reason: "delivery is still pending" });
    const delivery = await settled(tenant, deliveryId!, "delivered");
    expect(delivery.attempts).toBe(2);
    expect(received("/pb/replay")).toHaveLength(2);
    // Another workspace cannot replay it.
    const other = await seedTenant(t.db);
    expect(
      await replayDelivery(t.db, {
        workspaceId: other.workspaceId,
        deliveryId: deliveryId!,
        job: replayJob(other.workspaceId, deliveryId!),
      }),
    ).toEqual({
      ok: false,
      reason: "delivery not found",
    });
  });

  it("keeps a slow destination from starving the others", async () => {
    replies.set("/pb/slow", () => ({ status: 200, delayMs: 800 }));
    const slow = await seedTenant(t.db, { postbackTemplate: `${receiver.url}/pb/slow?c={external}` });
    // Another host for the fast receiver: a second server on its own port.
    const fastReceiver = await startReceiver();
    try {
      const fast = await seedTenant(t.db, { postbackTemplate: `${fastReceiver.url}/pb/fast?c={external}` });
      const slowOnes = [];
      for (let i = 0; i < 8; i++) {
        const { offer } = await insertPath(t.db, slow);
        slowOnes.push(await createConversion(t.db, slow, { hit: offer, revenue: "1" }));
      }
      const { offer } = await insertPath(t.db, fast);
      const quick = await createConversion(t.db, fast, { hit: offer, revenue: "1" });
      const fastDone = await settled(fast, quick.deliveryId!, "delivered");
      const slowDone = [];
      for (const s of slowOnes) slowDone.push(await settled(slow, s.deliveryId!, "delivered", 10_000));
      // Queued behind 8 slow postbacks, it still went out before the first of them came back:
      // without the per-host limit they would hold all 6 slots for 800 ms.
      const firstSlow = Math.min(...slowDone.map((d) => d.deliveredAt!.getTime()));
      expect(fastDone.deliveredAt!.getTime()).toBeLessThan(firstSlow);
    } finally {
      await fastReceiver.close();
    }
  });
});

/** A replay's job, as the api and the CLI build it. */
function replayJob(workspaceId: string, deliveryId: string) {
  return deliverJob(workspaceId, deliveryId, jobIds.deliverReplay(deliveryId, new Date()));
}
