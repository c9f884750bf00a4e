import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import {
  type CampaignKit,
  createApiKey,
  insertAuthSession,
  insertMembership,
  insertUser,
  newId,
  newIdAt,
  type WorkspaceRow,
} from "@hitrail/db";
import {
  createTestDatabase,
  factories,
  type TestDatabase,
  testRedisPrefix,
  testRedisUrl,
} from "@hitrail/db/testing";
import { eq, schema } from "@hitrail/db/testing/sql";
import { createLogger, type Logger } from "@hitrail/observability";
import { createRedis, type Redis } from "@hitrail/queue";
import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from "@trpc/client";
import type { FastifyInstance } from "fastify";
import { expect } from "vitest";
import { buildApi } from "../src/app.ts";
import { hashPassword } from "../src/auth/password.ts";
import type { Role } from "../src/auth/roles.ts";
import { sha256Hex } from "../src/auth/tokens.ts";
import type { Mailer } from "../src/mail.ts";
import type { AppRouter } from "../src/router/root.ts";
import type { ApiSettings } from "../src/settings.ts";

// A test harness in the manner of unkey's: two workspaces, a user and an API key for every role in
// the first, an owner in the second, and a campaign with logs in each, so every test can try the
// other tenant. Everything goes through real HTTP and a real tRPC client.

export const ROLE_LIST: Role[] = ["viewer", "member", "admin", "owner"];
export const PASSWORD = "correct horse battery staple";

export type Client = ReturnType<typeof createTRPCClient<AppRouter>>;

export interface Credentials {
  /** `hitrail_session=…` for a signed-in user. */
  cookie?: string;
  /** An API key, sent as a Bearer token. */
  key?: string;
}

export interface TestUser {
  id: string;
  email: string;
  cookie: string;
}

export interface Tenant {
  workspace: WorkspaceRow;
  host: string;
  users: Record<Role, TestUser>;
  keys: Record<Role, string>;
  kit: CampaignKit;
  defaultDomainId: string;
  eventTypeId: string;
  customDomainId: string;
  conversionId: string;
  receivedPostbackId: string;
  deliveryId: string;
}

/** Fake DNS and HTTP for domain verification: tests put what the outside world would say here. */
export interface FakeWorld {
  txt: Map<string, string[][]>;
  http: Map<string, { status: number; body: string }>;
}

export interface Harness {
  t: TestDatabase;
  app: FastifyInstance;
  base: string;
  redis: Redis;
  redisPrefix: string;
  world: FakeWorld;
  a: Tenant;
  b: Tenant;
  client(creds?: Credentials, opts?: { batch?: boolean }): Client;
  /** A fresh user with a session; a member of `workspaceId` with `role` when given. */
  user(opts?: { workspaceId?: string; role?: Role }): Promise<TestUser>;
  close(): Promise<void>;
}

let passwordHash: Promise<string> | undefined;
const unique = () => randomBytes(4).toString("hex");

export async function sessionFor(t: TestDatabase, userId: string): Promise<string> {
  const token = randomBytes(32).toString("base64url");
  await insertAuthSession(t.db, {
    userId,
    tokenHash: sha256Hex(token),
    expiresAt: new Date(Date.now() + 3_600_000),
  });
  return `hitrail_session=${token}`;
}

async function makeUser(
  t: TestDatabase,
  opts: { workspaceId?: string; role?: Role; email?: string } = {},
): Promise<TestUser> {
  passwordHash ??= hashPassword(PASSWORD);
  const email = opts.email ?? `user-${unique()}@example.com`;
  const user = await insertUser(t.db, { email, name: null, passwordHash: await passwordHash });
  if (opts.workspaceId && opts.role) {
    await insertMembership(t.db, { workspaceId: opts.workspaceId, userId: user.id, role: opts.role });
  }
  return { id: user.id, email, cookie: await sessionFor(t, user.id) };
}

/** A conversion with two revisions, the postback that made it, and a dead delivery with one attempt. */
export async function seedLogs(t: TestDatabase, workspaceId: string, kit: CampaignKit) {
  const hitAt = new Date(Date.now() - 3_600_000);
  const hitId = newIdAt(hitAt);
  const receivedPostbackId = newId();
  await t.db.insert(schema.receivedPostbacks).values({
    id: receivedPostbackId,
    workspaceId,
    method: "GET",
    params: { hit: hitId, tx: "T-1", rev: "10", status: "Approved" },
    hitId,
    tx: "T-1",
    statusWord: "approved",
    outcome: "created",
    httpStatus: 200,
  });
  const [conversion] = await t.db
    .insert(schema.conversions)
    .values({
      workspaceId,
      hitId,
      tx: "T-1",
      revenue: "12.5",
      status: "approved",
      revision: 2,
      visitorId: newId(),
      funnelId: kit.funnelId,
      nodeId: kit.nodes.offerA,
      pageId: kit.offerIds[0],
      pageKind: "offer",
      trafficSourceId: kit.trafficSourceId,
      hitAt,
      convertedAt: new Date(),
    })
    .returning();
  if (!conversion) throw new Error("conversion insert returned nothing");
  await t.db.insert(schema.conversionRevisions).values([
    {
      workspaceId,
      conversionId: conversion.id,
      revision: 1,
      action: "created",
      revenue: "10",
      status: "approved",
      statusWord: "approved",
      source: "postback",
      receivedPostbackId,
    },
    {
      workspaceId,
      conversionId: conversion.id,
      revision: 2,
      action: "updated",
      previousRevenue: "10",
      revenue: "12.5",
      status: "approved",
      source: "postback",
    },
  ]);
  const deliveryId = await seedDelivery(t, workspaceId, {
    conversionId: conversion.id,
    trafficSourceId: kit.trafficSourceId,
    status: "dead",
  });
  return { conversionId: conversion.id, receivedPostbackId, deliveryId };
}

export async function seedDelivery(
  t: TestDatabase,
  workspaceId: string,
  opts: {
    conversionId: string;
    trafficSourceId: string;
    status: "pending" | "delivered" | "failed" | "dead";
  },
): Promise<string> {
  const [delivery] = await t.db
    .insert(schema.outboundDeliveries)
    .values({
      workspaceId,
      conversionId: opts.conversionId,
      revision: Math.floor(Math.random() * 1_000_000) + 10,
      trafficSourceId: opts.trafficSourceId,
      event: "conversion",
      url: "https://ads.example/pb?cid=abc&payout=12.5",
      status: opts.status,
      attempts: 1,
      lastStatusCode: 500,
      lastError: "HTTP 500",
    })
    .returning();
  if (!delivery) throw new Error("delivery insert returned nothing");
  await t.db.insert(schema.deliveryAttempts).values({
    workspaceId,
    deliveryId: delivery.id,
    attempt: 1,
    url: delivery.url,
    statusCode: 500,
    latencyMs: 42,
    error: "HTTP 500",
  });
  return delivery.id;
}

async function makeTenant(t: TestDatabase, roles: Role[]): Promise<Tenant> {
  const { workspace, host } = await factories.workspace(t.db);
  const users = {} as Record<Role, TestUser>;
  const keys = {} as Record<Role, string>;
  for (const role of roles) {
    users[role] = await makeUser(t, { workspaceId: workspace.id, role });
    keys[role] = (await createApiKey(t.db, { workspaceId: workspace.id, name: `${role} key`, role })).key;
  }
  const kit = await factories.campaign(t.db, workspace.id, {
    postbackUrl: "https://ads.example/pb?cid={external}",
  });
  const [eventType] = await t.db
    .insert(schema.customEventTypes)
    .values({ workspaceId: workspace.id, name: "Lead", alias: "lead" })
    .returning();
  const [customDomain] = await t.db
    .insert(schema.trackingDomains)
    .values({
      workspaceId: workspace.id,
      host: `track-${unique()}.example.com`,
      kind: "custom",
      verificationToken: `tok-${unique()}`,
    })
    .returning();
  if (!eventType || !customDomain) throw new Error("seed insert returned nothing");
  const logs = await seedLogs(t, workspace.id, kit);
  const [defaultDomain] = await t.db
    .select({ id: schema.trackingDomains.id })
    .from(schema.trackingDomains)
    .where(eq(schema.trackingDomains.host, host));
  if (!defaultDomain) throw new Error("default domain missing");
  return {
    workspace,
    host,
    users,
    keys,
    kit,
    defaultDomainId: defaultDomain.id,
    eventTypeId: eventType.id,
    customDomainId: customDomain.id,
    ...logs,
  };
}

export interface HarnessOptions {
  mailer?: Mailer | null;
  logger?: Logger;
}

export async function startHarness(
  settings: Partial<ApiSettings> = {},
  opts: HarnessOptions = {},
): Promise<Harness> {
  const t = await createTestDatabase();
  const logger =
    opts.logger ??
    createLogger({
      name: "api-test",
      level: "silent",
      destination: new Writable({ write: (_c, _e, cb) => cb() }),
    });
  const redis = createRedis(testRedisUrl());
  const redisPrefix = testRedisPrefix("api");
  const world: FakeWorld = { txt: new Map(), http: new Map() };
  const app = await buildApi({
    db: t.app,
    logger,
    redis,
    redisPrefix,
    ...(opts.mailer !== undefined ? { mailer: opts.mailer } : {}),
    // Tests create accounts freely; the sign-up modes have tests of their own.
    settings: { baseDomain: "test.localhost", signup: "open", ...settings },
    domainChecks: {
      resolveTxt: async (name) => {
        const records = world.txt.get(name);
        if (!records) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: "ENOTFOUND" });
        return records;
      },
      fetchToken: async (url) => world.http.get(url) ?? { status: 404, body: "not found" },
    },
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const a = await makeTenant(t, ROLE_LIST);
  const b = await makeTenant(t, ["owner"]);
  const client = (creds: Credentials = {}, opts: { batch?: boolean } = {}) => {
    const headers: Record<string, string> = {};
    if (creds.cookie) headers.cookie = creds.cookie;
    if (creds.key) headers.authorization = `Bearer ${creds.key}`;
    const link = opts.batch === false ? httpLink : httpBatchLink;
    return createTRPCClient<AppRouter>({ links: [link({ url: `${base}/trpc`, headers })] });
  };
  return {
    t,
    app,
    base,
    redis,
    redisPrefix,
    world,
    a,
    b,
    client,
    user: (opts) => makeUser(t, opts),
    close: async () => {
      await app.close();
      const keys = await redis.keys(`${redisPrefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      await t.drop();
    },
  };
}

/** Expects a tRPC call to fail with `code` (and, when given, a message matching `message`). */
export async function expectCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TRPCClientError);
    const e = error as TRPCClientError<AppRouter>;
    expect({ code: e.data?.code, message: e.message }).toMatchObject({ code });
    if (message) expect(e.message).toMatch(message);
    return e.message;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}
