import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { createApiKey } from "@hitrail/db";
import {
  createTestDatabase,
  factories,
  type TestDatabase,
  testRedisPrefix,
  testRedisUrl,
} from "@hitrail/db/testing";
import { eq, schema } from "@hitrail/db/testing/sql";
import { createLogger } from "@hitrail/observability";
import { createRedis, type Redis } from "@hitrail/queue";
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApi } from "../src/app.ts";
import type { AppRouter } from "../src/router/root.ts";

let t: TestDatabase;
let app: FastifyInstance;
let base: string;
let redis: Redis;
beforeAll(async () => {
  t = await createTestDatabase();
  const logger = createLogger({
    name: "api-test",
    level: "silent",
    destination: new Writable({ write: (_c, _e, cb) => cb() }),
  });
  redis = createRedis(testRedisUrl());
  app = await buildApi({ db: t.app, logger, redis, redisPrefix: testRedisPrefix("api") });
  await app.listen({ host: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app?.close();
  await redis?.quit();
  await t?.drop();
});

const client = (key?: string) =>
  createTRPCClient<AppRouter>({
    links: [httpBatchLink({ url: `${base}/trpc`, headers: key ? { authorization: `Bearer ${key}` } : {} })],
  });

describe("api over real HTTP tRPC", () => {
  it("answers health without auth", async () => {
    expect(await client().system.health.query()).toEqual({ ok: true });
  });

  it("knows an API key's workspace, refuses no key and a revoked key", async () => {
    const { workspace } = await factories.workspace(t.db);
    const { key, id } = await createApiKey(t.db, { workspaceId: workspace.id, name: "test", role: "viewer" });
    expect((await client(key).auth.me.query()).workspaces.map((w) => w.id)).toEqual([workspace.id]);
    await expect(client().auth.me.query()).rejects.toBeInstanceOf(TRPCClientError);
    await t.db.update(schema.apiKeys).set({ revokedAt: new Date() }).where(eq(schema.apiKeys.id, id));
    await expect(client(key).auth.me.query()).rejects.toMatchObject({ data: { code: "UNAUTHORIZED" } });
  });
});

describe("on-demand TLS ask", () => {
  it("says yes only for verified domains of existing workspaces", async () => {
    const { workspace, host } = await factories.workspace(t.db);
    await t.db.insert(schema.trackingDomains).values({
      workspaceId: workspace.id,
      host: "unverified.example.com",
      kind: "custom",
      verificationToken: "x",
    });
    const ask = async (domain: string) =>
      (await fetch(`${base}/internal/tls/ask?domain=${encodeURIComponent(domain)}`)).status;
    expect(await ask(host)).toBe(200);
    expect(await ask(host.toUpperCase())).toBe(200);
    expect(await ask("unverified.example.com")).toBe(404);
    expect(await ask("never-heard-of.example.com")).toBe(404);
    expect(await ask("")).toBe(404);
  });
});
