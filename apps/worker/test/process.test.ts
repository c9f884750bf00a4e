import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { findDelivery, listDeliveryAttempts, newId } from "@hitrail/db";
import { createTestDatabase, type TestDatabase, testRedisUrl } from "@hitrail/db/testing";
import { inArray, schema } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConversion, insertPath, seedTenant } from "./support/factory.ts";
import {
  clearRedisPrefix,
  type Receiver,
  startReceiver,
  startTestWorker,
  waitFor,
} from "./support/harness.ts";

const TOKEN = "test-admin-token-0123456789";
const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const tsx = fileURLToPath(new URL("../../../node_modules/.bin/tsx", import.meta.url));

let t: TestDatabase;
let receiver: Receiver;

beforeAll(async () => {
  t = await createTestDatabase();
  receiver = await startReceiver(() => ({ status: 200, delayMs: 700 }));
});

afterAll(async () => {
  await receiver?.close();
  await t?.drop();
});

function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(tsx, [main], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.on("exit", (code) => resolve({ code, stderr }));
  });
}

describe("worker process", () => {
  it("exits with one line when PostgreSQL cannot be reached", async () => {
    const { code, stderr } = await run({
      DATABASE_URL: "postgres://hitrail@127.0.0.1:1/hitrail",
      MAINTENANCE_DATABASE_URL: "postgres://hitrail@127.0.0.1:1/hitrail",
      REDIS_URL: testRedisUrl(),
    });
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^hitrail worker: cannot start: connection refused at 127\.0\.0\.1:1/),
    ]);
  });

  it("exits with one line on a queue name it does not know", async () => {
    const { code, stderr } = await run({
      DATABASE_URL: t.appUrl,
      MAINTENANCE_DATABASE_URL: t.maintenanceUrl,
      REDIS_URL: testRedisUrl(),
      WORKER_QUEUES: "postbacks,emails",
    });
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(
      /^hitrail worker: cannot start: invalid configuration: WORKER_QUEUES names unknown queues \(emails\)/,
    );
  });
});

describe("admin server", () => {
  it("answers health, readiness and metrics, and guards the dashboard with the token", async () => {
    const worker = await startTestWorker(t, {
      port: 0,
      env: { WORKER_ADMIN_TOKEN: TOKEN, HOST: "127.0.0.1" },
    });
    try {
      const url = worker.url!;
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true });
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({
        ok: true,
        checks: { postgres: "ok", redis: "ok", workers: "ok" },
      });

      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toContain('hitrail_queue_jobs{queue="postbacks",state="waiting"}');
      expect(metrics).toContain('hitrail_queue_jobs{queue="rollups",state="failed"}');
      expect(metrics).toMatch(/^hitrail_outbox_pending \d+$/m);
      expect(metrics).toContain("hitrail_worker_process_cpu_seconds_total");

      const denied = await fetch(`${url}/queues`);
      expect(denied.status).toBe(401);
      expect(denied.headers.get("www-authenticate")).toMatch(/^Basic/);
      expect(
        (await fetch(`${url}/queues`, { headers: { authorization: "Bearer wrong-token" } })).status,
      ).toBe(401);
      const bearer = await fetch(`${url}/queues`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(bearer.status).toBe(200);
      expect(await bearer.text()).toContain("<html");
      const basic = `Basic ${Buffer.from(`ops:${TOKEN}`).toString("base64")}`;
      const api = await fetch(`${url}/queues/api/queues`, { headers: { authorization: basic } });
      expect(api.status).toBe(200);
      const names = ((await api.json()) as { queues: Array<{ name: string }> }).queues
        .map((q) => q.name)
        .sort();
      expect(names).toEqual(["imports", "maintenance", "postbacks", "rollups"]);
    } finally {
      await worker.close();
      await clearRedisPrefix(worker.prefix);
    }
  });

  it("reports the outbox backlog and the age of its oldest row on /metrics", async () => {
    // No relay in this worker: the rows stay unrelayed, as behind a dead or stuck relay.
    const worker = await startTestWorker(t, { port: 0, relay: false, env: { HOST: "127.0.0.1" } });
    const tenant = await seedTenant(t.db);
    const ids = [newId(), newId(), newId()];
    try {
      const scrape = async () => {
        const text = await (await fetch(`${worker.url}/metrics`)).text();
        const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
        return {
          pending: value("hitrail_outbox_pending"),
          oldest: value("hitrail_outbox_oldest_pending_seconds"),
        };
      };
      const before = await scrape();
      const row = (id: string, minutesAgo: number, relayed = false) => ({
        id,
        workspaceId: tenant.workspaceId,
        topic: "postback.deliver",
        jobId: `metrics-${id}`,
        payload: { workspaceId: tenant.workspaceId, deliveryId: newId() },
        createdAt: new Date(Date.now() - minutesAgo * 60_000),
        relayedAt: relayed ? new Date() : null,
      });
      await t.db.insert(schema.outbox).values([row(ids[0]!, 7), row(ids[1]!, 1), row(ids[2]!, 60, true)]);
      const after = await scrape();
      expect(after.pending - before.pending).toBe(2);
      // The oldest unrelayed row is 7 minutes old; the older one was relayed and does not count.
      expect(after.oldest).toBeGreaterThanOrEqual(420);
      expect(after.oldest).toBeLessThan(480);
    } finally {
      await t.db.delete(schema.outbox).where(inArray(schema.outbox.id, ids));
      await worker.close();
      await clearRedisPrefix(worker.prefix);
    }
  });

  it("mounts no dashboard without a token", async () => {
    const worker = await startTestWorker(t, { port: 0, env: { HOST: "127.0.0.1" } });
    try {
      expect((await fetch(`${worker.url}/queues`)).status).toBe(404);
    } finally {
      await worker.close();
      await clearRedisPrefix(worker.prefix);
    }
  });
});

describe("graceful shutdown", () => {
  it("finishes the postback in flight before closing", async () => {
    const worker = await startTestWorker(t, { queues: ["postbacks"] });
    try {
      const tenant = await seedTenant(t.db, { postbackTemplate: `${receiver.url}/pb/shutdown?c={external}` });
      const { offer } = await insertPath(t.db, tenant);
      const { deliveryId } = await createConversion(t.db, tenant, { hit: offer, revenue: "2" });
      await waitFor(() => receiver.requests.length === 1, { what: "the postback to reach the receiver" });
      await worker.close();
      const delivery = await findDelivery(t.db, { workspaceId: tenant.workspaceId, deliveryId: deliveryId! });
      expect(delivery?.status).toBe("delivered");
      const attempts = await listDeliveryAttempts(t.db, {
        workspaceId: tenant.workspaceId,
        deliveryId: deliveryId!,
      });
      expect(attempts).toHaveLength(1);
    } finally {
      await worker.close();
      await clearRedisPrefix(worker.prefix);
    }
  });
});
