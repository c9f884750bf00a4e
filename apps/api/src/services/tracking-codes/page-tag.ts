import { findFunnel, loadFunnelRows, loadPages } from "@hitrail/db";
import { z } from "zod";
import { notFound } from "../../errors.ts";
import { id } from "../../schemas/common.ts";
import { inWorkspace, workspaceService } from "../context.ts";
import { codeDomain, tagSnippet } from "./domain.ts";

/**
 * The universal tag for a page of a funnel: tag.js with the funnel, node and page ids it registers
 * views under (direct linking, no redirect). The tag itself is served by the tracker.
 */
export const pageTag = workspaceService({
  role: "viewer",
  input: z.object({ funnelId: id, nodeId: id.optional(), pageId: id.optional(), domainId: id.optional() }),
  output: z.object({ snippet: z.string(), universalTag: z.string() }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const funnel = await findFunnel(tx, { workspaceId: ctx.workspace.id, funnelId: input.funnelId });
      if (!funnel) throw notFound("funnel");
      if (input.nodeId) {
        const { nodes } = await loadFunnelRows(tx, { workspaceId: ctx.workspace.id, funnelId: funnel.id });
        const node = nodes.find((n) => n.id === input.nodeId);
        if (!node) throw notFound("node");
        if (input.pageId) {
          const config = node.config;
          const pages = config.kind === "lander" || config.kind === "offer" ? config.pages : [];
          if (!pages.some((p) => p.pageId === input.pageId)) throw notFound("page of this node");
        }
      } else if (input.pageId) {
        const pages = await loadPages(tx, ctx.workspace.id, [input.pageId]);
        if (!pages.has(input.pageId)) throw notFound("page");
      }
      const domain = await codeDomain(tx, ctx, input.domainId);
      return {
        snippet: tagSnippet(domain.origin, {
          funnel: funnel.id,
          ...(input.nodeId ? { node: input.nodeId } : {}),
          ...(input.pageId ? { page: input.pageId } : {}),
        }),
        universalTag: `<script src="${domain.origin}/tag.js" async></script>`,
      };
    }),
});
