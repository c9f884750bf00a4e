import { and, type Executor, eq, isNotNull, schema, withLookup } from "@hitrail/db";

/**
 * Caddy's on-demand TLS asks before issuing a certificate for a host. Only verified tracking
 * domains get one, so nobody can make us request certificates for names they point at us.
 */
export async function mayIssueCertificate(db: Executor, domain: string): Promise<boolean> {
  const host = domain.trim().toLowerCase().replace(/\.$/, "");
  if (!/^[a-z0-9.-]{1,253}$/.test(host)) return false;
  const [row] = await withLookup(db, { host }, (tx) =>
    tx
      .select({ id: schema.trackingDomains.id })
      .from(schema.trackingDomains)
      .innerJoin(schema.workspaces, eq(schema.workspaces.id, schema.trackingDomains.workspaceId))
      .where(and(eq(schema.trackingDomains.host, host), isNotNull(schema.trackingDomains.verifiedAt)))
      .limit(1),
  );
  return row !== undefined;
}
