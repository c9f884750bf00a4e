import { randomBytes } from "node:crypto";
import {
  applyCostUpdate,
  createApiKey,
  insertConversionImport,
  insertImportChunk,
  insertInvitation,
  newId,
  newIdAt,
  withWorkspace,
} from "@hitrail/db";
import { schema } from "@hitrail/db/testing/sql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "../src/auth/roles.ts";
import { roleAtLeast } from "../src/auth/roles.ts";
import { sha256Hex } from "../src/auth/tokens.ts";
import { appRouter } from "../src/router/root.ts";
import {
  type Client,
  type Credentials,
  expectCode,
  type Harness,
  PASSWORD,
  ROLE_LIST,
  seedDelivery,
  startHarness,
  type Tenant,
} from "./harness.ts";

// ONE table that walks every procedure of the router. The list of procedures comes from the router
// itself, so a procedure added without a row here fails this test. For every workspace procedure:
// no credentials → UNAUTHORIZED; each role below the one it needs (session and API key) → FORBIDDEN;
// the role it needs (session and API key) → works; another workspace's id (workspaceId, or an object
// id inside our own workspace) → NOT_FOUND, exactly as if it did not exist.

type Input = Record<string, unknown>;
type MaybePromise<T> = T | Promise<T>;

type Case =
  | { access: "public"; input?: (h: Harness) => MaybePromise<Input | undefined> }
  /** Any signed-in user or API key. */
  | { access: "authed" }
  /** Signed-in users only; `session` gives a throwaway one for calls that end or change it. */
  | { access: "user"; input?: (h: Harness) => MaybePromise<Input>; session?: (h: Harness) => Promise<string> }
  | {
      access: Role;
      /** Valid input acting in `t` (fresh objects where the call consumes them). */
      input: (h: Harness, t: Tenant) => MaybePromise<Input>;
      /** Input acting in A that names an object of B: must be NOT_FOUND. */
      foreign?: (h: Harness) => MaybePromise<Input>;
    };

const unique = () => randomBytes(4).toString("hex");
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
const ws = (t: Tenant) => ({ workspaceId: t.workspace.id });

async function freshMember(h: Harness, t: Tenant, role: Role = "viewer") {
  return h.user({ workspaceId: t.workspace.id, role });
}

async function freshInvitation(h: Harness, t: Tenant, email = `i-${unique()}@example.com`) {
  const token = randomBytes(32).toString("base64url");
  const row = await insertInvitation(h.t.db, {
    workspaceId: t.workspace.id,
    email,
    role: "viewer",
    tokenHash: sha256Hex(token),
    invitedByUserId: null,
    expiresAt: new Date(Date.now() + 86_400_000),
  });
  return { id: row.id, token };
}

/** An entrance visit of the tenant's traffic source an hour ago: something a cost can cover. */
async function freshVisit(h: Harness, t: Tenant) {
  const at = Date.now() - 3_600_000;
  await h.t.db.insert(schema.hits).values({
    id: newIdAt(at),
    workspaceId: t.workspace.id,
    visitorId: newIdAt(at),
    funnelId: t.kit.funnelId,
    nodeId: t.kit.nodes.lander,
    pageId: t.kit.landerId,
    pageKind: "lander",
    trafficSourceId: t.kit.trafficSourceId,
    createdAt: new Date(at),
  });
}

async function freshCostUpdate(h: Harness, t: Tenant) {
  await freshVisit(h, t);
  const result = await withWorkspace(h.t.db, t.workspace.id, (tx) =>
    applyCostUpdate(tx, {
      workspaceId: t.workspace.id,
      scope: { trafficSourceId: t.kit.trafficSourceId },
      timeZone: "UTC",
      localStart: `${daysAgo(1)}T00:00`,
      localEnd: `${daysAgo(-1)}T00:00`,
      mode: "total",
      amount: "1",
      origin: "api",
      actor: {},
    }),
  );
  if (!result.ok) throw new Error("no visits for the cost update");
  return result.update.id;
}

/** A conversion import still taking its file's pieces (what create leaves behind), or with one in. */
async function freshImport(h: Harness, t: Tenant, opts: { uploaded?: boolean } = {}) {
  const row = await withWorkspace(h.t.db, t.workspace.id, async (tx) => {
    const created = await insertConversionImport(tx, {
      id: newId(),
      workspaceId: t.workspace.id,
      fileName: "feed.csv",
      format: "csv",
      mapping: { hit: "click" },
      options: { postbacks: false },
      actorUserId: null,
      actorApiKeyId: null,
      actorLabel: "test",
    });
    if (opts.uploaded) {
      const data = Buffer.from("click\nx\n");
      await insertImportChunk(tx, { workspaceId: t.workspace.id, importId: created.id, seq: 0, data });
    }
    return created;
  });
  return row.id;
}

async function freshDomain(h: Harness, t: Tenant, opts: { verifiable?: boolean } = {}) {
  const host = `d-${unique()}.example.net`;
  const token = `tok-${unique()}`;
  const [row] = await h.t.db
    .insert(schema.trackingDomains)
    .values({ workspaceId: t.workspace.id, host, kind: "custom", verificationToken: token })
    .returning();
  if (!row) throw new Error("domain insert returned nothing");
  if (opts.verifiable) h.world.txt.set(`_hitrail.${host}`, [[token]]);
  return row.id;
}

function kitGraph(t: Tenant) {
  const n = t.kit.nodes;
  return {
    funnelId: t.kit.funnelId,
    name: "Renamed funnel",
    entryNodeId: n.entry,
    nodes: [
      { id: n.entry, name: "Entry", config: { kind: "entry", routes: [{ to: n.lander, weight: 1 }] } },
      {
        id: n.lander,
        name: "Lander",
        config: { kind: "lander", pages: [{ pageId: t.kit.landerId, weight: 1 }] },
      },
      {
        id: n.offerA,
        name: "Offer A",
        config: { kind: "offer", pages: [{ pageId: t.kit.offerIds[0], weight: 1 }] },
      },
    ],
    actions: [{ from: n.lander, number: 1, to: n.offerA }],
  };
}

const CASES: Record<string, Case> = {
  "system.health": { access: "public" },
  "auth.signUp": {
    access: "public",
    input: () => ({ email: `new-${unique()}@example.com`, password: PASSWORD }),
  },
  "auth.signIn": {
    access: "public",
    input: async (h) => ({ email: (await h.user()).email, password: PASSWORD }),
  },
  "auth.signOut": { access: "user", session: async (h) => (await h.user()).cookie },
  "auth.changePassword": {
    access: "user",
    session: async (h) => (await h.user()).cookie,
    input: () => ({ currentPassword: PASSWORD, newPassword: "a different long password" }),
  },
  "auth.me": { access: "authed" },
  "auth.session": { access: "public" },

  "workspaces.list": { access: "authed" },
  "workspaces.create": { access: "user", input: () => ({ name: "New", slug: `ws-${unique()}` }) },
  "workspaces.get": { access: "viewer", input: (_h, t) => ws(t) },
  "workspaces.update": { access: "admin", input: (_h, t) => ({ ...ws(t), name: "Renamed" }) },
  "workspaces.setPostbackSecret": { access: "admin", input: (_h, t) => ({ ...ws(t), secret: null }) },

  "members.list": { access: "admin", input: (_h, t) => ws(t) },
  "members.invite": {
    access: "admin",
    input: (_h, t) => ({ ...ws(t), email: `m-${unique()}@example.com`, role: "viewer" }),
  },
  "members.invitations": { access: "admin", input: (_h, t) => ws(t) },
  "members.revokeInvitation": {
    access: "admin",
    input: async (h, t) => ({ ...ws(t), invitationId: (await freshInvitation(h, t)).id }),
    foreign: async (h) => ({ ...ws(h.a), invitationId: (await freshInvitation(h, h.b)).id }),
  },
  "invitations.get": {
    access: "public",
    input: async (h) => ({ token: (await freshInvitation(h, h.a)).token }),
  },
  "invitations.accept": (() => {
    // The session's user is the invited one: session() runs before the input of the call that works.
    let email = "";
    return {
      access: "user" as const,
      session: async (h: Harness) => {
        const user = await h.user();
        email = user.email;
        return user.cookie;
      },
      input: async (h: Harness) => ({ token: (await freshInvitation(h, h.a, email || undefined)).token }),
    };
  })(),
  "invitations.signUp": {
    access: "public",
    input: async (h) => ({ token: (await freshInvitation(h, h.a)).token, password: PASSWORD }),
  },
  "members.setRole": {
    access: "admin",
    input: async (h, t) => ({ ...ws(t), userId: (await freshMember(h, t)).id, role: "member" }),
    foreign: (h) => ({ ...ws(h.a), userId: h.b.users.owner.id, role: "member" }),
  },
  "members.remove": {
    access: "admin",
    input: async (h, t) => ({ ...ws(t), userId: (await freshMember(h, t)).id }),
    foreign: (h) => ({ ...ws(h.a), userId: h.b.users.owner.id }),
  },

  "apiKeys.list": { access: "admin", input: (_h, t) => ws(t) },
  "apiKeys.create": { access: "admin", input: (_h, t) => ({ ...ws(t), name: "ci", role: "viewer" }) },
  "apiKeys.revoke": {
    access: "admin",
    input: async (h, t) => ({
      ...ws(t),
      apiKeyId: (await createApiKey(h.t.db, { workspaceId: t.workspace.id, name: "x", role: "viewer" })).id,
    }),
    foreign: async (h) => ({
      ...ws(h.a),
      apiKeyId: (await createApiKey(h.t.db, { workspaceId: h.b.workspace.id, name: "x", role: "viewer" })).id,
    }),
  },
  "audit.list": { access: "admin", input: (_h, t) => ws(t) },

  "domains.list": { access: "viewer", input: (_h, t) => ws(t) },
  "domains.add": { access: "admin", input: (_h, t) => ({ ...ws(t), host: `add-${unique()}.example.org` }) },
  "domains.verify": {
    access: "admin",
    input: async (h, t) => ({ ...ws(t), domainId: await freshDomain(h, t, { verifiable: true }) }),
    foreign: (h) => ({ ...ws(h.a), domainId: h.b.customDomainId }),
  },
  "domains.remove": {
    access: "admin",
    input: async (h, t) => ({ ...ws(t), domainId: await freshDomain(h, t) }),
    foreign: async (h) => ({ ...ws(h.a), domainId: await freshDomain(h, h.b) }),
  },

  "trafficSources.templates": { access: "authed" },
  "trafficSources.list": { access: "viewer", input: (_h, t) => ws(t) },
  "trafficSources.get": {
    access: "viewer",
    input: (_h, t) => ({ ...ws(t), trafficSourceId: t.kit.trafficSourceId }),
    foreign: (h) => ({ ...ws(h.a), trafficSourceId: h.b.kit.trafficSourceId }),
  },
  "trafficSources.create": { access: "member", input: (_h, t) => ({ ...ws(t), name: "Source" }) },
  "trafficSources.update": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), trafficSourceId: t.kit.trafficSourceId, name: "Source 2" }),
    foreign: (h) => ({ ...ws(h.a), trafficSourceId: h.b.kit.trafficSourceId, name: "Mine now" }),
  },
  "trafficSources.archive": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), trafficSourceId: t.kit.trafficSourceId, archived: false }),
    foreign: (h) => ({ ...ws(h.a), trafficSourceId: h.b.kit.trafficSourceId }),
  },
  "trafficSources.enablePostbacks": {
    access: "admin",
    input: (_h, t) => ({ ...ws(t), trafficSourceId: t.kit.trafficSourceId }),
    foreign: (h) => ({ ...ws(h.a), trafficSourceId: h.b.kit.trafficSourceId }),
  },

  "offerSources.templates": { access: "authed" },
  "offerSources.list": { access: "viewer", input: (_h, t) => ws(t) },
  "offerSources.get": {
    access: "viewer",
    input: (_h, t) => ({ ...ws(t), offerSourceId: t.kit.offerSourceId }),
    foreign: (h) => ({ ...ws(h.a), offerSourceId: h.b.kit.offerSourceId }),
  },
  "offerSources.create": { access: "member", input: (_h, t) => ({ ...ws(t), name: "Network" }) },
  "offerSources.update": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), offerSourceId: t.kit.offerSourceId, name: "Network 2" }),
    foreign: (h) => ({ ...ws(h.a), offerSourceId: h.b.kit.offerSourceId, name: "Mine now" }),
  },
  "offerSources.archive": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), offerSourceId: t.kit.offerSourceId, archived: false }),
    foreign: (h) => ({ ...ws(h.a), offerSourceId: h.b.kit.offerSourceId }),
  },

  "offers.list": { access: "viewer", input: (_h, t) => ws(t) },
  "offers.get": {
    access: "viewer",
    input: (_h, t) => ({ ...ws(t), offerId: t.kit.offerIds[0] }),
    foreign: (h) => ({ ...ws(h.a), offerId: h.b.kit.offerIds[0] }),
  },
  "offers.create": {
    access: "member",
    input: (_h, t) => ({
      ...ws(t),
      name: "Offer",
      url: "https://offer.example/?c={hit}",
      offerSourceId: t.kit.offerSourceId,
    }),
    foreign: (h) => ({
      ...ws(h.a),
      name: "Offer",
      url: "https://offer.example/",
      offerSourceId: h.b.kit.offerSourceId,
    }),
  },
  "offers.update": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), offerId: t.kit.offerIds[0], defaultPayout: "13.25" }),
    foreign: (h) => ({ ...ws(h.a), offerId: h.b.kit.offerIds[0], defaultPayout: "1" }),
  },
  "offers.archive": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), offerId: t.kit.offerIds[1], archived: false }),
    foreign: (h) => ({ ...ws(h.a), offerId: h.b.kit.offerIds[1] }),
  },

  "landers.list": { access: "viewer", input: (_h, t) => ws(t) },
  "landers.get": {
    access: "viewer",
    input: (_h, t) => ({ ...ws(t), landerId: t.kit.landerId }),
    foreign: (h) => ({ ...ws(h.a), landerId: h.b.kit.landerId }),
  },
  "landers.create": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), name: "Lander", url: "https://lp.example/" }),
  },
  "landers.update": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), landerId: t.kit.landerId, name: "Lander 2" }),
    foreign: (h) => ({ ...ws(h.a), landerId: h.b.kit.landerId, name: "Mine now" }),
  },
  "landers.archive": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), landerId: t.kit.landerId, archived: false }),
    foreign: (h) => ({ ...ws(h.a), landerId: h.b.kit.landerId }),
  },

  "eventTypes.list": { access: "viewer", input: (_h, t) => ws(t) },
  "eventTypes.get": {
    access: "viewer",
    input: (_h, t) => ({ ...ws(t), eventTypeId: t.eventTypeId }),
    foreign: (h) => ({ ...ws(h.a), eventTypeId: h.b.eventTypeId }),
  },
  "eventTypes.create": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), name: "Signup", alias: `signup-${unique()}` }),
  },
  "eventTypes.update": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), eventTypeId: t.eventTypeId, name: "Lead 2" }),
    foreign: (h) => ({ ...ws(h.a), eventTypeId: h.b.eventTypeId, name: "Mine now" }),
  },
  "eventTypes.archive": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), eventTypeId: t.eventTypeId, archived: false }),
    foreign: (h) => ({ ...ws(h.a), eventTypeId: h.b.eventTypeId }),
  },

  "funnels.list": { access: "viewer", input: (_h, t) => ws(t) },
  "funnels.get": {
    access: "viewer",
    input: (_h, t) => ({ ...ws(t), funnelId: t.kit.funnelId }),
    foreign: (h) => ({ ...ws(h.a), funnelId: h.b.kit.funnelId }),
  },
  "funnels.save": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), ...kitGraph(t) }),
    // Our own pages, but B's funnel id: the funnel is not found (and B's graph is untouched).
    foreign: (h) => ({ ...ws(h.a), ...kitGraph(h.a), funnelId: h.b.kit.funnelId }),
  },
  "funnels.archive": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), funnelId: t.kit.funnelId, archived: false }),
    foreign: (h) => ({ ...ws(h.a), funnelId: h.b.kit.funnelId }),
  },
  "funnels.clone": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), funnelId: t.kit.funnelId }),
    foreign: (h) => ({ ...ws(h.a), funnelId: h.b.kit.funnelId }),
  },
  "funnels.stats": {
    access: "viewer",
    input: (_h, t) => ({ ...ws(t), funnelId: t.kit.funnelId, from: "2026-01-01", to: "2026-01-31" }),
    foreign: (h) => ({ ...ws(h.a), funnelId: h.b.kit.funnelId, from: "2026-01-01", to: "2026-01-31" }),
  },

  "trackingCodes.get": {
    access: "viewer",
    input: (_h, t) => ws(t),
    foreign: (h) => ({ ...ws(h.a), domainId: h.b.defaultDomainId }),
  },
  "trackingCodes.entranceLink": {
    access: "viewer",
    input: (_h, t) => ({ ...ws(t), funnelId: t.kit.funnelId, trafficSourceId: t.kit.trafficSourceId }),
    foreign: (h) => ({ ...ws(h.a), funnelId: h.a.kit.funnelId, trafficSourceId: h.b.kit.trafficSourceId }),
  },
  "trackingCodes.pageTag": {
    access: "viewer",
    input: (_h, t) => ({
      ...ws(t),
      funnelId: t.kit.funnelId,
      nodeId: t.kit.nodes.lander,
      pageId: t.kit.landerId,
    }),
    foreign: (h) => ({ ...ws(h.a), funnelId: h.b.kit.funnelId }),
  },
  "trackingCodes.offer": {
    access: "viewer",
    input: (_h, t) => ({ ...ws(t), offerId: t.kit.offerIds[0] }),
    foreign: (h) => ({ ...ws(h.a), offerId: h.b.kit.offerIds[0] }),
  },
  "trackingCodes.funnelPages": {
    access: "viewer",
    input: (_h, t) => ({ ...ws(t), funnelId: t.kit.funnelId }),
    foreign: (h) => ({ ...ws(h.a), funnelId: h.b.kit.funnelId }),
  },
  "trackingCodes.macros": { access: "viewer", input: (_h, t) => ws(t) },
  "trackingCodes.offerSource": {
    access: "viewer",
    input: (_h, t) => ({ ...ws(t), offerSourceId: t.kit.offerSourceId }),
    foreign: (h) => ({ ...ws(h.a), offerSourceId: h.b.kit.offerSourceId }),
  },

  "conversions.list": { access: "viewer", input: (_h, t) => ws(t) },
  "conversions.get": {
    access: "viewer",
    input: (_h, t) => ({ ...ws(t), conversionId: t.conversionId }),
    foreign: (h) => ({ ...ws(h.a), conversionId: h.b.conversionId }),
  },
  "postbacks.list": { access: "viewer", input: (_h, t) => ws(t) },
  "deliveries.list": { access: "viewer", input: (_h, t) => ws(t) },
  "deliveries.get": {
    access: "viewer",
    input: (_h, t) => ({ ...ws(t), deliveryId: t.deliveryId }),
    foreign: (h) => ({ ...ws(h.a), deliveryId: h.b.deliveryId }),
  },
  "deliveries.replay": {
    access: "member",
    input: async (h, t) => ({
      ...ws(t),
      deliveryId: await seedDelivery(h.t, t.workspace.id, {
        conversionId: t.conversionId,
        trafficSourceId: t.kit.trafficSourceId,
        status: "dead",
      }),
    }),
    foreign: (h) => ({ ...ws(h.a), deliveryId: h.b.deliveryId }),
  },
  "deliveries.replaySince": {
    access: "member",
    input: (_h, t) => ({
      ...ws(t),
      trafficSourceId: t.kit.trafficSourceId,
      since: new Date(Date.now() - 60_000).toISOString(),
    }),
    foreign: (h) => ({
      ...ws(h.a),
      trafficSourceId: h.b.kit.trafficSourceId,
      since: new Date().toISOString(),
    }),
  },
  "reports.run": {
    access: "viewer",
    input: (_h, t) => ({
      ...ws(t),
      from: daysAgo(7),
      to: daysAgo(0),
      groupBy: ["day", "offer"],
      funnelId: t.kit.funnelId,
    }),
    foreign: (h) => ({ ...ws(h.a), from: daysAgo(7), to: daysAgo(0), funnelId: h.b.kit.funnelId }),
  },
  "reports.trackingFields": { access: "viewer", input: (_h, t) => ws(t) },
  "reports.preferences": { access: "viewer", input: (_h, t) => ws(t) },
  // Remembered per signed-in user: an API key has no user to remember them for.
  "reports.savePreferences": {
    access: "user",
    input: (h) => ({ ...ws(h.a), columns: ["visits", "revenue"] }),
  },
  "costs.list": {
    access: "viewer",
    input: (_h, t) => ws(t),
  },
  "costs.set": {
    access: "member",
    input: async (h, t) => {
      await freshVisit(h, t);
      return {
        ...ws(t),
        trafficSourceId: t.kit.trafficSourceId,
        from: daysAgo(1),
        to: daysAgo(0),
        amount: "3",
      };
    },
    foreign: (h) => ({
      ...ws(h.a),
      trafficSourceId: h.b.kit.trafficSourceId,
      from: daysAgo(1),
      to: daysAgo(0),
      amount: "3",
    }),
  },
  "costs.upload": {
    access: "member",
    input: async (h, t) => {
      await freshVisit(h, t);
      const day = new Date(Date.now() - 3_600_000).toISOString().slice(0, 10);
      return { ...ws(t), csv: `date,source,amount\n${day},${t.kit.trafficSourceId},2\n` };
    },
  },
  "costs.undo": {
    access: "member",
    input: async (h, t) => ({ ...ws(t), updateId: await freshCostUpdate(h, t) }),
    foreign: async (h) => ({ ...ws(h.a), updateId: await freshCostUpdate(h, h.b) }),
  },
  "imports.mapping": { access: "viewer", input: (_h, t) => ws(t) },
  "imports.list": { access: "viewer", input: (_h, t) => ws(t) },
  "imports.get": {
    access: "viewer",
    input: async (h, t) => ({ ...ws(t), importId: await freshImport(h, t) }),
    foreign: async (h) => ({ ...ws(h.a), importId: await freshImport(h, h.b) }),
  },
  "imports.refusals": {
    access: "viewer",
    input: async (h, t) => ({ ...ws(t), importId: await freshImport(h, t) }),
    foreign: async (h) => ({ ...ws(h.a), importId: await freshImport(h, h.b) }),
  },
  "imports.preview": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), csv: "click,payout\nx,1\n", mapping: { hit: "click", rev: "payout" } }),
  },
  "imports.create": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), fileName: "feed.csv", mapping: { hit: "click" } }),
  },
  "imports.upload": {
    access: "member",
    input: async (h, t) => ({ ...ws(t), importId: await freshImport(h, t), seq: 0, data: "click\nx\n" }),
    foreign: async (h) => ({ ...ws(h.a), importId: await freshImport(h, h.b), seq: 0, data: "click\nx\n" }),
  },
  "imports.start": {
    access: "member",
    input: async (h, t) => ({ ...ws(t), importId: await freshImport(h, t, { uploaded: true }) }),
    foreign: async (h) => ({ ...ws(h.a), importId: await freshImport(h, h.b, { uploaded: true }) }),
  },
  "imports.rows": {
    access: "member",
    input: (_h, t) => ({ ...ws(t), rows: [{ hit: t.kit.landerId, rev: "1" }] }),
  },
  "reports.csv": {
    access: "viewer",
    input: (_h, t) => ({ ...ws(t), from: daysAgo(7), to: daysAgo(0), groupBy: ["offer"] }),
    foreign: (h) => ({ ...ws(h.a), from: daysAgo(7), to: daysAgo(0), funnelId: h.b.kit.funnelId }),
  },
};

const procedures = appRouter._def.procedures as unknown as Record<
  string,
  { _def: { type: "query" | "mutation" } }
>;

async function call(client: Client, path: string, input: Input | undefined): Promise<unknown> {
  const [area, name] = path.split(".") as [string, string];
  const type = procedures[path]?._def.type;
  const proc = (
    client as unknown as Record<
      string,
      Record<string, { query: (i: unknown) => Promise<unknown>; mutate: (i: unknown) => Promise<unknown> }>
    >
  )[area]?.[name];
  if (!proc || !type) throw new Error(`no procedure ${path}`);
  return type === "query" ? proc.query(input) : proc.mutate(input);
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("every procedure of the router", () => {
  it("has a row in the table, and the table names no procedure that does not exist", () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(procedures).sort());
  });

  it.each(Object.keys(procedures).sort())(
    "%s: refuses callers without the role, ids from another workspace and junk input",
    async (path) => {
      const c = CASES[path];
      if (!c) throw new Error(`no test case for procedure ${path}: add one to CASES`);
      const as = (creds: Credentials) => h.client(creds);

      switch (c.access) {
        case "public": {
          await call(as({}), path, await c.input?.(h));
          return;
        }
        case "authed": {
          await expectCode(call(as({}), path, undefined), "UNAUTHORIZED");
          await call(as({ cookie: h.a.users.viewer.cookie }), path, undefined);
          await call(as({ key: h.a.keys.viewer }), path, undefined);
          return;
        }
        case "user": {
          await expectCode(call(as({}), path, await c.input?.(h)), "UNAUTHORIZED");
          await expectCode(call(as({ key: h.a.keys.owner }), path, await c.input?.(h)), "FORBIDDEN");
          const cookie = c.session ? await c.session(h) : h.a.users.viewer.cookie;
          await call(as({ cookie }), path, await c.input?.(h));
          return;
        }
        default: {
          const needed = c.access;
          await expectCode(call(as({}), path, await c.input(h, h.a)), "UNAUTHORIZED");
          for (const role of ROLE_LIST) {
            if (roleAtLeast(role, needed)) continue;
            await expectCode(
              call(as({ cookie: h.a.users[role].cookie }), path, await c.input(h, h.a)),
              "FORBIDDEN",
            );
            await expectCode(call(as({ key: h.a.keys[role] }), path, await c.input(h, h.a)), "FORBIDDEN");
          }
          await call(as({ cookie: h.a.users[needed].cookie }), path, await c.input(h, h.a));
          await call(as({ key: h.a.keys[needed] }), path, await c.input(h, h.a));
          // Another workspace, with the strongest credentials of this one: as if it did not exist.
          await expectCode(
            call(as({ cookie: h.a.users.owner.cookie }), path, await c.input(h, h.b)),
            "NOT_FOUND",
          );
          await expectCode(call(as({ key: h.a.keys.owner }), path, await c.input(h, h.b)), "NOT_FOUND");
          if (c.foreign) {
            await expectCode(
              call(as({ cookie: h.a.users.owner.cookie }), path, await c.foreign(h)),
              "NOT_FOUND",
            );
          }
          // Junk in every field is a BAD_REQUEST naming a field, never a server error.
          const fields = Object.keys(await c.input(h, h.a)).filter((k) => k !== "workspaceId");
          if (fields.length > 0) {
            const junk = { ...ws(h.a), ...Object.fromEntries(fields.map((k) => [k, { junk: true }])) };
            const message = await expectCode(
              call(as({ cookie: h.a.users.owner.cookie }), path, junk),
              "BAD_REQUEST",
            );
            expect(fields.some((f) => message.startsWith(f))).toBe(true);
          }
        }
      }
    },
  );
});
