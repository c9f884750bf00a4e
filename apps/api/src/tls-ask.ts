import { type Executor, hostMayGetCertificate } from "@hitrail/db";
import type { ApiSettings } from "./settings.ts";

/**
 * Caddy's on-demand TLS asks before issuing a certificate for a host. Only verified custom domains
 * and the default hosts of workspaces that exist get one, so nobody can make us request
 * certificates for names they point at us (and burn the base domain's rate limit at the CA).
 */
export async function mayIssueCertificate(
  db: Executor,
  settings: Pick<ApiSettings, "baseDomain">,
  domain: string,
): Promise<boolean> {
  const host = domain.trim().toLowerCase().replace(/\.$/, "");
  if (!/^[a-z0-9.-]{1,253}$/.test(host)) return false;
  return hostMayGetCertificate(db, { host, baseDomain: settings.baseDomain });
}
