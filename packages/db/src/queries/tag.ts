import { and, count, eq, isNotNull, isNull, sql } from "drizzle-orm";
import type { Executor } from "../client.ts";
import { conversions, landers, offers, trackingDomains } from "../schema/index.ts";
import { withWorkspace } from "../tenancy.ts";

/**
 * What a workspace's own origins are made of: its live landers' and offers' URL templates and its
 * verified tracking hosts. The tracker reduces the templates to hosts (core's templateHost).
 */
export async function findTagOriginSources(
  db: Executor,
  workspaceId: string,
): Promise<{ pageUrls: string[]; trackingHosts: string[] }> {
  // One transaction under the workspace's row-level security scope; the reads run in turn on it.
  const [landerRows, offerRows, domainRows] = await withWorkspace(db, workspaceId, async (tx) => [
    await tx
      .select({ url: landers.url })
      .from(landers)
      .where(and(eq(landers.workspaceId, workspaceId), isNull(landers.archivedAt))),
    await tx
      .select({ url: offers.url })
      .from(offers)
      .where(and(eq(offers.workspaceId, workspaceId), isNull(offers.archivedAt))),
    await tx
      .select({ host: trackingDomains.host })
      .from(trackingDomains)
      .where(and(eq(trackingDomains.workspaceId, workspaceId), isNotNull(trackingDomains.verifiedAt))),
  ]);
  return {
    pageUrls: [...landerRows, ...offerRows].map((r) => r.url),
    trackingHosts: domainRows.map((r) => r.host),
  };
}

/**
 * How many conversions (custom events included, deleted ones too) a hit has, and whether one with
 * this identity (event, tx) is among them: a repeat updates it and adds none.
 */
export async function countHitConversions(
  db: Executor,
  ref: { workspaceId: string; hitId: string; eventKey: string; tx: string | null },
): Promise<{ onHit: number; identityExists: boolean }> {
  const [row] = await withWorkspace(db, ref.workspaceId, (tx) =>
    tx
      .select({
        onHit: count(),
        same: sql<number>`count(*) filter (where ${conversions.eventKey} = ${ref.eventKey} and ${conversions.tx} = ${ref.tx ?? ""})`.mapWith(
          Number,
        ),
      })
      .from(conversions)
      .where(and(eq(conversions.workspaceId, ref.workspaceId), eq(conversions.hitId, ref.hitId))),
  );
  return { onHit: row?.onHit ?? 0, identityExists: (row?.same ?? 0) > 0 };
}
