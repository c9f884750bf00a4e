import { and, asc, eq, isNotNull, sql } from "drizzle-orm";
import type { Executor } from "../client.ts";
import { trackingDomains } from "../schema/index.ts";

export type TrackingDomain = typeof trackingDomains.$inferSelect;

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
