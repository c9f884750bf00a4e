import { loadEnv } from "@hitrail/config";
import { findDelivery, listDeliveryAttempts } from "@hitrail/db";
import { createTestDatabase, type TestDatabase, testRedisPrefix, testRedisUrl } from "@hitrail/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker } from "../src/index.ts";
import { createConversion, insertPath, seedTenant } from "./support/factory.ts";
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

beforeAll(async () => {
  t = await createTestDatabase();
  receiver = await startReceiver();
  // No allow-list: loopback and private addresses are off limits, as in production.
  worker = await startTestWorker(t, { queues: ["postbacks"], allowCidrs: "" });
});

afterAll(async () => {
  await worker?.close();
  await receiver?.close();
  if (worker) await clearRedisPrefix(worker.prefix);
  await t?.drop();
});

async function deliver(url: string) {
  const tenant = await seedTenant(t.db);
  const { offer } = await insertPath(t.db, tenant);
  const { deliveryId } = await createConversion(t.db, tenant, {
    hit: offer,
    revenue: "1",
    delivery: { url },
  });
  const delivery = await waitFor(
    async () => {
      const d = await findDelivery(t.db, { workspaceId: tenant.workspaceId, deliveryId: deliveryId! });
      return d && d.status !== "pending" && d.status !== "failed" ? d : null;
    },
    { what: `delivery to ${url} to settle` },
  );
  const attempts = await listDeliveryAttempts(t.db, {
    workspaceId: tenant.workspaceId,
    deliveryId: deliveryId!,
  });
  return { delivery, attempts };
}

describe("outbound address filtering", () => {
  it.each([
    ["a private address", "http://10.0.0.1/pb?x=1", "10.0.0.1"],
    ["the cloud metadata address", "http://169.254.169.254/latest/meta-data/", "169.254.169.254"],
    ["IPv6 loopback", "http://[::1]:9/pb", "::1"],
    ["the unspecified address", "http://0.0.0.0:9/pb", "0.0.0.0"],
  ])("refuses %s, logs the attempt and gives up", async (_label, url, address) => {
    const { delivery, attempts } = await deliver(url);
    expect(delivery.status).toBe("dead");
    expect(attempts).toHaveLength(1);
    expect(attempts[0]?.statusCode).toBeNull();
    expect(attempts[0]?.error).toContain("refused");
    expect(attempts[0]?.error).toContain(address);
    expect(attempts[0]?.error).toContain("OUTBOUND_ALLOW_CIDRS");
  });

  it("checks the address a host name resolves to, not just literal IPs", async () => {
    const port = new URL(receiver.url).port;
    const { delivery, attempts } = await deliver(`http://localhost:${port}/pb/rebound`);
    expect(delivery.status).toBe("dead");
    expect(attempts[0]?.error).toMatch(/refused: localhost resolves to (127\.0\.0\.1|::1)/);
    await sleep(100);
    expect(receiver.requests).toHaveLength(0);
  });

  it("gives up on URLs it cannot send to", async () => {
    const { delivery, attempts } = await deliver("ftp://example.com/pb");
    expect(delivery.status).toBe("dead");
    expect(attempts[0]?.error).toMatch(/only http and https/);
  });

  it("refuses to start with an allow-list entry that is not an address", async () => {
    const env = loadEnv({
      DATABASE_URL: t.appUrl,
      MAINTENANCE_DATABASE_URL: t.maintenanceUrl,
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: testRedisPrefix("bad-cidr"),
      OUTBOUND_ALLOW_CIDRS: "127.0.0.0/8,intranet",
    });
    await expect(startWorker(env, { port: false })).rejects.toMatchObject({
      name: "ConfigError",
      problems: [expect.stringContaining("'intranet'")],
    });
  });
});
