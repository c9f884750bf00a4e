import { randomBytes } from "node:crypto";
import { insertCustomDomain } from "@hitrail/db";
import { z } from "zod";
import { badRequest } from "../../errors.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";
import { domainOutput, normalizeHost, takenElsewhere, toDomainOutput } from "./schemas.ts";

/**
 * Adds a custom domain, unverified: it is not routed and gets no certificate until verified. Any
 * workspace may claim any host, each claim with its own token: a claim nobody has proved blocks
 * nobody, and the first claim to be verified wins (the others then read "taken").
 */
export const addDomain = workspaceService({
  role: "admin",
  input: z.object({ host: z.string().max(300) }),
  output: domainOutput,
  run: async ({ ctx, input }) => {
    const normalized = normalizeHost(input.host);
    if (!normalized.ok) throw badRequest(`host: ${normalized.reason}`);
    const { host } = normalized;
    const base = ctx.settings.baseDomain;
    if (host === base || host.endsWith(`.${base}`)) {
      throw badRequest(
        `host: names under ${base} are the workspaces' default domains; add a domain of your own`,
      );
    }
    if (host.endsWith(".localhost")) throw badRequest("host: must be a public host name");
    return inWorkspace(ctx, async (tx) => {
      const domain = await insertCustomDomain(tx, {
        workspaceId: ctx.workspace.id,
        host,
        verificationToken: `hitrail-verify-${randomBytes(16).toString("hex")}`,
      });
      await audit(tx, ctx, {
        action: "domain.add",
        entity: "tracking_domain",
        entityId: domain.id,
        detail: host,
      });
      return toDomainOutput(domain, await takenElsewhere(tx, domain));
    });
  },
});
