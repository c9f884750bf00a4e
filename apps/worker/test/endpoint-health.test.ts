import { findDelivery, resumeTrafficSourcePostbacks, withWorkspace } from "@hitrail/db";
import { createTestDatabase, type TestDatabase } from "@hitrail/db/testing";
import { schema, sql } from "@hitrail/db/testing/sql";
import { deliverJob, jobIds } from "@hitrail/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConversion, insertPath, seedTenant, type Tenant } from "./support/factory.ts";
import {
  clearRedisPrefix,
  type Receiver,
  sleep,
  startReceiver,
  startTestWorker,
  type TestWorker,
  waitFor,
} from "./support/harness.ts";

// A traffic source's postback endpoint that keeps failing is disabled (its deliveries pause instead
// of spending their attempts) and re-enabling it sends them all; a 410 Gone flags it.

let t: TestDatabase;
let receiver: Receiver;
let worker: TestWorker;
const replies = new Map<string, () => number>();

beforeAll(async () => {
  t = await createTestDatabase();
  receiver = await startReceiver((req) => {
    const path = (req.url ?? "").split("?")[0] ?? "";
    return { status: replies.get(path)?.() ?? 200 };
  });
  // An endpoint failing for 300 ms counts as failing "too long" here (5 days in production).
  worker = await startTestWorker(t, {
    queues: ["postbacks"],
    postbacks: {
      timeoutMs: 1_000,
      endpointDisableAfterMs: 300,
      schedule: { delaysMs: [100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100], jitter: 0 },
    },
  });
});

afterAll(async () => {
  await worker?.close();
  await receiver?.close();
  if (worker) await clearRedisPrefix(worker.prefix);
  await t?.drop();
});

const received = (path: string) => receiver.requests.filter((r) => r.url.startsWith(`${path}?`));
const sourceOf = async (tenant: Tenant) =>
  (await t.db.select().from(schema.trafficSources).where(sql`id = ${tenant.kit.trafficSourceId}`))[0];
const statusOf = async (tenant: Tenant, deliveryId: string) =>
  (await findDelivery(t.db, { workspaceId: tenant.workspaceId, deliveryId }))?.status;

describe("postback endpoint health", () => {
  it("disables an endpoint failing too long, pauses its deliveries, and re-enabling sends them all", async () => {
    let up = false;
    replies.set("/pb/flaky", () => (up ? 200 : 500));
    const tenant = await seedTenant(t.db, { postbackTemplate: `${receiver.url}/pb/flaky?c={external}` });
    const first = await createConversion(t.db, tenant, {
      hit: (await insertPath(t.db, tenant)).offer,
      revenue: "1",
    });
    const source = await waitFor(
      async () => {
        const s = await sourceOf(tenant);
        return s?.postbackDisabledAt ? s : null;
      },
      { what: "the endpoint to be disabled" },
    );
    expect(source.postbackDisabledReason).toMatch(/^every postback has failed since .+; the last: HTTP 500/);
    // Once disabled, the first delivery stops spending attempts: it is paused, not dead.
    await waitFor(async () => (await statusOf(tenant, first.deliveryId!)) === "paused", {
      what: "first paused",
    });

    // A new conversion's postback waits, unsent.
    const sentBefore = received("/pb/flaky").length;
    const second = await createConversion(t.db, tenant, {
      hit: (await insertPath(t.db, tenant)).offer,
      revenue: "2",
    });
    await waitFor(async () => (await statusOf(tenant, second.deliveryId!)) === "paused", {
      what: "second paused",
    });
    await sleep(300);
    expect(received("/pb/flaky").length).toBe(sentBefore);

    // The receiver is fixed; the owner re-enables the endpoint: both go out, nothing lost.
    up = true;
    const resumed = await withWorkspace(t.db, tenant.workspaceId, (tx) =>
      resumeTrafficSourcePostbacks(tx, {
        workspaceId: tenant.workspaceId,
        trafficSourceId: tenant.kit.trafficSourceId,
        jobFor: (deliveryId) =>
          deliverJob(tenant.workspaceId, deliveryId, jobIds.deliverResume(deliveryId, new Date())),
      }),
    );
    expect(resumed).toEqual({ found: true, resumed: 2 });
    for (const d of [first, second]) {
      await waitFor(async () => (await statusOf(tenant, d.deliveryId!)) === "delivered", {
        what: "delivered",
      });
    }
    const after = await sourceOf(tenant);
    expect(after).toMatchObject({
      postbackDisabledAt: null,
      postbackDisabledReason: null,
      postbackFailingSince: null,
    });
  });

  it("flags an endpoint that answers 410 Gone without disabling it", async () => {
    replies.set("/pb/gone", () => 410);
    const tenant = await seedTenant(t.db, { postbackTemplate: `${receiver.url}/pb/gone?c={external}` });
    const { deliveryId } = await createConversion(t.db, tenant, {
      hit: (await insertPath(t.db, tenant)).offer,
      revenue: "1",
    });
    await waitFor(async () => (await statusOf(tenant, deliveryId!)) === "dead", { what: "dead on 410" });
    // The flag is written right after the attempt is recorded, in its own transaction.
    await waitFor(async () => (await sourceOf(tenant))?.postbackFlag != null, { what: "flag on 410" });
    const source = await sourceOf(tenant);
    expect(source?.postbackFlag).toMatch(
      /^410 Gone from http:\/\/.+\/pb\/gone\?c=.+: the receiver says this endpoint is gone$/,
    );
    expect(source?.postbackDisabledAt).toBeNull();
  });
});
