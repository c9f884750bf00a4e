import { and, asc, eq, isNotNull, isNull, ne, sql } from "drizzle-orm";
import type { Executor } from "../client.ts";
import { trackingDomains } from "../schema/index.ts";
import { withLookup } from "../tenancy.ts";

export type TrackingDomain = typeof trackingDomains.$inferSelect;

/** The verification token of the workspace's default tracking domain (the demo seed derives its secrets from it). */
export async function defaultDomainToken(
  db: Executor,
  input: { workspaceId: string },
): Promise<string | null> {
  const [row] = await db
    .select({ token: trackingDomains.verificationToken })
    .from(trackingDomains)
    .where(and(eq(trackingDomains.workspaceId, input.workspaceId), eq(trackingDomains.kind, "default")))
    .limit(1);
  return row?.token ?? null;
}

export async function listDomains(
  db: Executor,
  input: { workspaceId: string; verifiedOnly?: boolean },
): Promise<TrackingDomain[]> {
  return (
    db
      .select()
      .from(trackingDomains)
      .where(
        and(
          eq(trackingDomains.workspaceId, input.workspaceId),
          input.verifiedOnly ? isNotNull(trackingDomains.verifiedAt) : undefined,
        ),
      )
      // The default domain first, then custom ones in the order they were added.
      .orderBy(asc(trackingDomains.kind), asc(trackingDomains.createdAt), asc(trackingDomains.id))
  );
}

export async function findDomain(
  db: Executor,
  input: { workspaceId: string; domainId: string },
): Promise<TrackingDomain | undefined> {
  const [row] = await db
    .select()
    .from(trackingDomains)
    .where(and(eq(trackingDomains.workspaceId, input.workspaceId), eq(trackingDomains.id, input.domainId)))
    .limit(1);
  return row;
}

export async function insertCustomDomain(
  db: Executor,
  input: { workspaceId: string; host: string; verificationToken: string },
): Promise<TrackingDomain> {
  const [row] = await db
    .insert(trackingDomains)
    .values({ ...input, kind: "custom", verifiedAt: null })
    .returning();
  if (!row) throw new Error("domain insert returned nothing");
  return row;
}

export async function markDomainVerified(
  db: Executor,
  input: { workspaceId: string; domainId: string },
): Promise<TrackingDomain | undefined> {
  const [row] = await db
    .update(trackingDomains)
    .set({ verifiedAt: sql`coalesce(${trackingDomains.verifiedAt}, now())` })
    .where(and(eq(trackingDomains.workspaceId, input.workspaceId), eq(trackingDomains.id, input.domainId)))
    .returning();
  return row;
}

export async function deleteCustomDomain(
  db: Executor,
  input: { workspaceId: string; domainId: string },
): Promise<TrackingDomain | undefined> {
  const [row] = await db
    .delete(trackingDomains)
    .where(
      and(
        eq(trackingDomains.workspaceId, input.workspaceId),
        eq(trackingDomains.id, input.domainId),
        eq(trackingDomains.kind, "custom"),
      ),
    )
    .returning();
  return row;
}

/**
 * The HTTP verification token the tracker serves for `host`: that of its one pending claim. When
 * several workspaces claim the host, the tracker cannot tell whose the host is (it answers for
 * every claim alike), so it serves none and ownership is proved by DNS TXT instead.
 */
export async function pendingClaimToken(
  db: Executor,
  input: { host: string; token: string },
): Promise<string | null> {
  const rows = await withLookup(db, { claimHost: input.host }, (tx) =>
    tx
      .select({ token: trackingDomains.verificationToken })
      .from(trackingDomains)
      .where(and(eq(trackingDomains.host, input.host), isNull(trackingDomains.verifiedAt)))
      .limit(2),
  );
  const [only] = rows;
  return rows.length === 1 && only?.token === input.token ? only.token : null;
}

/** The workspace that holds `host` verified, when it is not `workspaceId` (look-up by host). */
export async function hostTakenBy(
  db: Executor,
  input: { host: string; workspaceId: string },
): Promise<string | null> {
  const [row] = await withLookup(db, { host: input.host }, (tx) =>
    tx
      .select({ workspaceId: trackingDomains.workspaceId })
      .from(trackingDomains)
      .where(
        and(
          eq(trackingDomains.host, input.host),
          isNotNull(trackingDomains.verifiedAt),
          ne(trackingDomains.workspaceId, input.workspaceId),
        ),
      )
      .limit(1),
  );
  return row?.workspaceId ?? null;
}
