import { and, type Executor, eq, schema, withWorkspace } from "@hitrail/db";

// A tenant-scoped read of one hit. It belongs in @hitrail/db's queries next to the other hit
// queries; it sits here until that package has one (the db package was not ours to change).

export interface StoredHit {
  id: string;
  visitorId: string;
  funnelId: string;
  nodeId: string;
  pageId: string | null;
  pageKind: "lander" | "offer" | "external" | "none";
  trafficSourceId: string | null;
  externalId: string | null;
  campaign: string | null;
  cost: string | null;
  trackingFields: Record<string, string>;
  createdAt: Date;
}

/** The hit with this ID in this workspace (the id prunes the lookup to one time partition). */
export async function findHit(
  db: Executor,
  workspaceId: string,
  hitId: string,
): Promise<StoredHit | undefined> {
  const h = schema.hits;
  const [row] = await withWorkspace(db, workspaceId, (tx) =>
    tx
      .select({
        id: h.id,
        visitorId: h.visitorId,
        funnelId: h.funnelId,
        nodeId: h.nodeId,
        pageId: h.pageId,
        pageKind: h.pageKind,
        trafficSourceId: h.trafficSourceId,
        externalId: h.externalId,
        campaign: h.campaign,
        cost: h.cost,
        trackingFields: h.trackingFields,
        createdAt: h.createdAt,
      })
      .from(h)
      .where(and(eq(h.workspaceId, workspaceId), eq(h.id, hitId)))
      .limit(1),
  );
  return row;
}
