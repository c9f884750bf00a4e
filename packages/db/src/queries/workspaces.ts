import { createHash, randomBytes } from "node:crypto";
import type { TagConversionSettings } from "@hitrail/core";
import { and, eq, isNotNull, isNull, sql } from "drizzle-orm";
import type { Executor } from "../client.ts";
import { isUuid, newId } from "../ids.ts";
import { apiKeys, memberships, trackingDomains, workspaces } from "../schema/index.ts";
import { withLookup, withWorkspace } from "../tenancy.ts";

export type Workspace = typeof workspaces.$inferSelect;

export const SLUG_RE = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

export function defaultTrackingHost(slug: string, baseDomain: string): string {
  return `${slug}.${baseDomain}`.toLowerCase();
}

/**
 * Creates a workspace and its verified default tracking domain `{slug}.{base domain}`. Its id is
 * minted first so the writes run under that workspace's row-level security; on an open transaction
 * the setting stays for the rest of it (the caller's audit row, its first objects).
 */
export async function createWorkspace(
  db: Executor,
  input: {
    slug: string;
    name: string;
    baseDomain: string;
    timeZone?: string;
    currency?: string;
    ownerUserId?: string;
  },
): Promise<{ workspace: Workspace; host: string }> {
  if (!SLUG_RE.test(input.slug)) {
    throw new Error(`workspace slug '${input.slug}' must be 1-40 lower-case letters, digits or '-'`);
  }
  const host = defaultTrackingHost(input.slug, input.baseDomain);
  const id = newId();
  return withWorkspace(db, id, (tx) => insertWorkspace(tx, id, host, input));
}

async function insertWorkspace(
  db: Executor,
  id: string,
  host: string,
  input: Parameters<typeof createWorkspace>[1],
): Promise<{ workspace: Workspace; host: string }> {
  const [workspace] = await db
    .insert(workspaces)
    .values({
      id,
      slug: input.slug,
      name: input.name,
      ...(input.timeZone ? { timeZone: input.timeZone } : {}),
      ...(input.currency ? { currency: input.currency } : {}),
    })
    .returning();
  if (!workspace) throw new Error("workspace insert returned nothing");
  await db.insert(trackingDomains).values({
    workspaceId: workspace.id,
    host,
    kind: "default",
    verificationToken: randomBytes(16).toString("hex"),
    verifiedAt: new Date(),
  });
  if (input.ownerUserId) {
    await db
      .insert(memberships)
      .values({ workspaceId: workspace.id, userId: input.ownerUserId, role: "owner" });
  }
  return { workspace, host };
}

/** The workspace named by an operator: its id, or else its slug (`hitrail … --workspace`). */
export async function findWorkspaceBySlugOrId(
  db: Executor,
  slugOrId: string,
): Promise<Workspace | undefined> {
  if (!isUuid(slugOrId)) return findWorkspaceBySlug(db, slugOrId);
  const [row] = await withWorkspace(db, slugOrId, (tx) =>
    tx.select().from(workspaces).where(eq(workspaces.id, slugOrId)).limit(1),
  );
  return row;
}

/** The workspace with this slug (look-up by slug). */
export async function findWorkspaceBySlug(db: Executor, slug: string): Promise<Workspace | undefined> {
  const [row] = await withLookup(db, { slug }, (tx) =>
    tx.select().from(workspaces).where(eq(workspaces.slug, slug)).limit(1),
  );
  return row;
}

export interface HostWorkspace {
  workspaceId: string;
  slug: string;
  timeZone: string;
  currency: string;
  sessionTtlSeconds: number;
  postbackSecret: string | null;
  postbackIpAllowlist: string[];
  /** What the browser tag may do (issue 18): see core's decideTagOrigin. */
  tag: TagConversionSettings;
  /** The parameter the visitor ID travels under on redirects and that the tag reads (core's redirect.ts). */
  visitorIdParam: string;
}

/** The workspace a tracking host routes to; only verified domains route (look-up by host). */
export async function findWorkspaceByHost(db: Executor, host: string): Promise<HostWorkspace | undefined> {
  const lower = host.toLowerCase();
  return withLookup(db, { host: lower }, (tx) => workspaceByHost(tx, lower));
}

async function workspaceByHost(db: Executor, host: string): Promise<HostWorkspace | undefined> {
  const [row] = await db
    .select({
      workspaceId: workspaces.id,
      slug: workspaces.slug,
      timeZone: workspaces.timeZone,
      currency: workspaces.currency,
      sessionTtlSeconds: workspaces.sessionTtlSeconds,
      postbackSecret: workspaces.postbackSecret,
      postbackIpAllowlist: workspaces.postbackIpAllowlist,
      tagConversions: workspaces.tagConversions,
      tagAllowedOrigins: workspaces.tagAllowedOrigins,
      tagRevenue: workspaces.tagRevenue,
      tagConversionsPerHit: workspaces.tagConversionsPerHit,
      visitorIdParam: workspaces.visitorIdParam,
    })
    .from(trackingDomains)
    .innerJoin(workspaces, eq(workspaces.id, trackingDomains.workspaceId))
    .where(and(eq(trackingDomains.host, host.toLowerCase()), isNotNull(trackingDomains.verifiedAt)))
    .limit(1);
  if (row === undefined) return undefined;
  const { tagConversions, tagAllowedOrigins, tagRevenue, tagConversionsPerHit, ...rest } = row;
  return {
    ...rest,
    tag: {
      enabled: tagConversions,
      allowedOrigins: tagAllowedOrigins,
      revenueFromBrowser: tagRevenue,
      perHitLimit: tagConversionsPerHit,
    },
  };
}

const hashKey = (key: string) => createHash("sha256").update(key).digest("hex");

/**
 * Creates an API key; the plain key is returned once and only its hash is stored. `key` and
 * `prefix` are for the demo seed, whose key is derived from the workspace so each run finds it again.
 */
export async function createApiKey(
  db: Executor,
  input: {
    workspaceId: string;
    name: string;
    role?: "owner" | "admin" | "member" | "viewer";
    createdByUserId?: string;
    key?: string;
    prefix?: string;
  },
): Promise<{ id: string; key: string; prefix: string }> {
  const key = input.key ?? `hr_${randomBytes(24).toString("base64url")}`;
  const prefix = input.prefix ?? key.slice(0, 10);
  const [row] = await withWorkspace(db, input.workspaceId, (tx) =>
    tx
      .insert(apiKeys)
      .values({
        workspaceId: input.workspaceId,
        name: input.name,
        prefix,
        keyHash: hashKey(key),
        role: input.role ?? "admin",
        createdByUserId: input.createdByUserId ?? null,
      })
      .returning({ id: apiKeys.id }),
  );
  if (!row) throw new Error("api key insert returned nothing");
  return { id: row.id, key, prefix };
}

/** The key with this secret (look-up by its hash); notes its use under its own workspace. */
export async function findApiKey(db: Executor, key: string) {
  const keyHash = hashKey(key);
  const [row] = await withLookup(db, { apiKeyHash: keyHash }, (tx) =>
    tx
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)))
      .limit(1),
  );
  if (row) {
    await withWorkspace(db, row.workspaceId, (tx) =>
      tx
        .update(apiKeys)
        .set({ lastUsedAt: sql`now()` })
        .where(and(eq(apiKeys.workspaceId, row.workspaceId), eq(apiKeys.id, row.id))),
    );
  }
  return row;
}
