import { type Executor, listTouches } from "@hitrail/db";
import { and, asc, eq, schema } from "@hitrail/db/testing/sql";

/** What a workspace's conversion tables hold, for assertions. Every read is scoped to the workspace. */
export function conversionTables(db: Executor, workspaceId: string) {
  return {
    conversions: () =>
      db
        .select()
        .from(schema.conversions)
        .where(eq(schema.conversions.workspaceId, workspaceId))
        .orderBy(asc(schema.conversions.createdAt), asc(schema.conversions.id)),
    liveConversions: async () =>
      (
        await db
          .select()
          .from(schema.conversions)
          .where(eq(schema.conversions.workspaceId, workspaceId))
          .orderBy(asc(schema.conversions.id))
      ).filter((c) => c.deletedAt === null),
    revisions: (conversionId?: string) =>
      db
        .select()
        .from(schema.conversionRevisions)
        .where(
          conversionId
            ? and(
                eq(schema.conversionRevisions.workspaceId, workspaceId),
                eq(schema.conversionRevisions.conversionId, conversionId),
              )
            : eq(schema.conversionRevisions.workspaceId, workspaceId),
        )
        .orderBy(asc(schema.conversionRevisions.conversionId), asc(schema.conversionRevisions.revision)),
    // As the dashboard reads them: the direct touch derived from the conversion, the assisted stored.
    touches: (conversionId: string) => listTouches(db, { workspaceId, conversionId }),
    allTouches: () => db.select().from(schema.touches).where(eq(schema.touches.workspaceId, workspaceId)),
    outbox: () =>
      db
        .select()
        .from(schema.outbox)
        .where(eq(schema.outbox.workspaceId, workspaceId))
        .orderBy(asc(schema.outbox.createdAt), asc(schema.outbox.jobId)),
    deliveries: () =>
      db
        .select()
        .from(schema.outboundDeliveries)
        .where(eq(schema.outboundDeliveries.workspaceId, workspaceId))
        .orderBy(asc(schema.outboundDeliveries.revision)),
    log: () =>
      db
        .select()
        .from(schema.receivedPostbacks)
        .where(eq(schema.receivedPostbacks.workspaceId, workspaceId))
        .orderBy(asc(schema.receivedPostbacks.id)),
  };
}

/** Sets workspace-level postback settings (the dashboard's job, done directly here). */
export async function setWorkspace(
  db: Executor,
  workspaceId: string,
  set: Partial<
    Pick<
      typeof schema.workspaces.$inferInsert,
      "postbackSecret" | "postbackIpAllowlist" | "sessionTtlSeconds"
    >
  >,
): Promise<void> {
  await db.update(schema.workspaces).set(set).where(eq(schema.workspaces.id, workspaceId));
}

export async function setTrafficSource(
  db: Executor,
  workspaceId: string,
  id: string,
  set: Partial<
    Pick<
      typeof schema.trafficSources.$inferInsert,
      "postbackUrl" | "postbackOnUpdate" | "postbackOnReject" | "postbackDelaySeconds"
    >
  >,
): Promise<void> {
  await db
    .update(schema.trafficSources)
    .set(set)
    .where(and(eq(schema.trafficSources.workspaceId, workspaceId), eq(schema.trafficSources.id, id)));
}
