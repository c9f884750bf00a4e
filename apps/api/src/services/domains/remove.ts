import { deleteCustomDomain, findDomain } from "@hitrail/db";
import { z } from "zod";
import { badRequest, notFound } from "../../errors.ts";
import { id } from "../../schemas/common.ts";
import { audit, inWorkspace, workspaceService } from "../context.ts";

/** Removes a custom domain: it stops routing at once, and links using it stop working. */
export const removeDomain = workspaceService({
  role: "admin",
  input: z.object({ domainId: id }),
  output: z.object({ removed: z.literal(true), host: z.string() }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const domain = await findDomain(tx, { workspaceId: ctx.workspace.id, domainId: input.domainId });
      if (!domain) throw notFound("domain");
      if (domain.kind === "default")
        throw badRequest("domainId: the workspace's default domain cannot be removed");
      await deleteCustomDomain(tx, { workspaceId: ctx.workspace.id, domainId: domain.id });
      await audit(tx, ctx, {
        action: "domain.remove",
        entity: "tracking_domain",
        entityId: domain.id,
        detail: domain.host,
      });
      return { removed: true as const, host: domain.host };
    }),
});
