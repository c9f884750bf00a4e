import { findDomain, markDomainVerified } from "@hitrail/db";
import { z } from "zod";
import { notFound } from "../../errors.ts";
import { id } from "../../schemas/common.ts";
import type { DomainChecks } from "../../settings.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { domainOutput, httpTokenUrl, takenElsewhere, toDomainOutput, txtRecordName } from "./schemas.ts";

const method = z.enum(["dns", "http"]);

function isVerifiedHostTaken(error: unknown): boolean {
  for (
    let e = error as { code?: string; constraint_name?: string; cause?: unknown } | undefined;
    e;
    e = e.cause as typeof e
  ) {
    if (e.code === "23505" && e.constraint_name === "tracking_domains_verified_host_key") return true;
  }
  return false;
}
type Method = z.infer<typeof method>;
interface CheckResult {
  method: Method;
  ok: boolean;
  detail: string;
}

async function checkDns(checks: DomainChecks, host: string, token: string): Promise<CheckResult> {
  const name = txtRecordName(host);
  try {
    // A TXT record may arrive split in 255-byte chunks; each record is its chunks joined.
    const records = (await checks.resolveTxt(name)).map((chunks) => chunks.join("").trim());
    if (records.includes(token)) return { method: "dns", ok: true, detail: `TXT ${name} holds the token` };
    return {
      method: "dns",
      ok: false,
      detail:
        records.length === 0
          ? `TXT ${name} has no records`
          : `TXT ${name} has ${records.length} record(s), none equal to the token`,
    };
  } catch (error) {
    const code = (error as { code?: string }).code ?? "error";
    return { method: "dns", ok: false, detail: `no TXT record ${name} (${code})` };
  }
}

async function checkHttp(checks: DomainChecks, host: string, token: string): Promise<CheckResult> {
  const url = httpTokenUrl(host, token);
  try {
    const res = await checks.fetchToken(url);
    if (res.status === 200 && res.body.trim() === token) {
      return { method: "http", ok: true, detail: `${url} serves the token` };
    }
    return {
      method: "http",
      ok: false,
      detail: res.status === 200 ? `${url} answered 200 without the token` : `${url} answered ${res.status}`,
    };
  } catch (error) {
    return { method: "http", ok: false, detail: `${url} could not be fetched (${(error as Error).message})` };
  }
}

/**
 * Proves a custom domain is the workspace's: a DNS TXT record `_hitrail.<host>` holding the token,
 * or the tracker serving it at `/.well-known/hitrail/<token>` (which only works once the host points
 * at us). Lookups run before the transaction so a slow DNS server holds no database connection.
 */
export const verifyDomain = workspaceService({
  role: "admin",
  input: z.object({ domainId: id, methods: z.array(method).min(1).default(["dns", "http"]) }),
  output: z.object({
    domain: domainOutput,
    verified: z.boolean(),
    checks: z.array(z.object({ method, ok: z.boolean(), detail: z.string() })),
  }),
  run: async ({ ctx, input }) => {
    const found = await inWorkspace(ctx, async (tx) => {
      const d = await findDomain(tx, { workspaceId: ctx.workspace.id, domainId: input.domainId });
      return d ? { d, taken: await takenElsewhere(tx, d) } : null;
    });
    if (!found) throw notFound("domain");
    const domain = found.d;
    if (domain.verifiedAt) return { domain: toDomainOutput(domain), verified: true, checks: [] };
    if (found.taken) return { domain: toDomainOutput(domain, true), verified: false, checks: [] };
    const checks: CheckResult[] = [];
    for (const m of new Set(input.methods)) {
      const result =
        m === "dns"
          ? await checkDns(ctx.domainChecks, domain.host, domain.verificationToken)
          : await checkHttp(ctx.domainChecks, domain.host, domain.verificationToken);
      checks.push(result);
      if (result.ok) break;
    }
    const passed = checks.find((c) => c.ok);
    if (!passed) return { domain: toDomainOutput(domain), verified: false, checks };
    try {
      return await inWorkspace(ctx, async (tx) => {
        const verified = await markDomainVerified(tx, { workspaceId: ctx.workspace.id, domainId: domain.id });
        if (!verified) throw notFound("domain");
        await audit(tx, ctx, {
          action: "domain.verify",
          entity: "tracking_domain",
          entityId: domain.id,
          detail: `${domain.host} by ${passed.method}`,
        });
        return { domain: toDomainOutput(verified), verified: true, checks };
      });
    } catch (error) {
      // Another workspace's claim was verified between our check and our write: the first one wins.
      if (!isVerifiedHostTaken(error)) throw error;
      return { domain: toDomainOutput(domain, true), verified: false, checks };
    }
  },
});
