import { type Executor, hostTakenBy, type TrackingDomain } from "@hitrail/db";
import { z } from "zod";
import { isoTime, isoTimeNullable } from "../../schemas/common.ts";

export const domainOutput = z.object({
  id: z.string(),
  host: z.string(),
  kind: z.enum(["default", "custom"]),
  verified: z.boolean(),
  /**
   * verified: routed here; pending: waiting for proof; taken: another workspace proved the host
   * first, so this claim cannot be verified (remove it, or ask that workspace to remove theirs).
   */
  status: z.enum(["verified", "pending", "taken"]),
  verifiedAt: isoTimeNullable,
  createdAt: isoTime,
  /** How to prove ownership: either a DNS TXT record or the token served over HTTP by the tracker. */
  verification: z.object({ txtName: z.string(), txtValue: z.string(), httpUrl: z.string() }).nullable(),
});

export const txtRecordName = (host: string) => `_hitrail.${host}`;
// Plain http on purpose: certificates are issued only after verification, so https cannot work yet.
export const httpTokenUrl = (host: string, token: string) => `http://${host}/.well-known/hitrail/${token}`;

export function toDomainOutput(d: TrackingDomain, takenElsewhere = false): z.input<typeof domainOutput> {
  return {
    id: d.id,
    host: d.host,
    kind: d.kind,
    verified: d.verifiedAt !== null,
    status: d.verifiedAt !== null ? "verified" : takenElsewhere ? "taken" : "pending",
    verifiedAt: d.verifiedAt,
    createdAt: d.createdAt,
    verification:
      d.kind === "custom" && d.verifiedAt === null && !takenElsewhere
        ? {
            txtName: txtRecordName(d.host),
            txtValue: d.verificationToken,
            httpUrl: httpTokenUrl(d.host, d.verificationToken),
          }
        : null,
  };
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A host name as users paste it ("https://Track.Example.com/", "track.example.com.") made canonical,
 * or the reason it is not a host we can route.
 */
export function normalizeHost(raw: string): { ok: true; host: string } | { ok: false; reason: string } {
  let host = raw.trim().toLowerCase();
  if (host.includes("://")) {
    if (!URL.canParse(host)) return { ok: false, reason: "is not a host name such as track.example.com" };
    host = new URL(host).hostname;
  }
  host = host.replace(/\.$/, "");
  if (host.length === 0 || host.length > 253) return { ok: false, reason: "must be 1-253 characters" };
  const labels = host.split(".");
  if (labels.length < 2) return { ok: false, reason: "must be a full host name such as track.example.com" };
  if (!labels.every((l) => LABEL.test(l))) {
    return {
      ok: false,
      reason: "must be letters, digits and '-' in dot-separated parts, e.g. track.example.com",
    };
  }
  if (/^\d+$/.test(labels[labels.length - 1] ?? ""))
    return { ok: false, reason: "must be a name, not an IP address" };
  return { ok: true, host };
}

/** Whether another workspace holds the (unverified) domain's host verified. */
export async function takenElsewhere(tx: Executor, d: TrackingDomain): Promise<boolean> {
  if (d.verifiedAt !== null) return false;
  return (await hostTakenBy(tx, { host: d.host, workspaceId: d.workspaceId })) !== null;
}
