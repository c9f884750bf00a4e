import { findFunnel, loadFunnelRows, loadPages } from "@hitrail/db";
import { z } from "zod";
import { notFound } from "../../errors.ts";
import { id } from "../../schemas/common.ts";
import { inWorkspace, workspaceService } from "../context.ts";
import { codeDomain, tagSnippet } from "./domain.ts";

const action = z.object({
  number: z.number().int(),
  /** The node the action leads to, by name. */
  to: z.string(),
  /** `/action/N`: the tracker finds the visitor by its cookie, or by `vid`/`hit` in the lander's own URL. */
  url: z.string(),
  /** The same link carrying the visitor ID the lander received in its URL (`?vid=…`), for when cookies are blocked. */
  urlWithVisitor: z.string(),
});

/**
 * What each page of a funnel needs on it: a lander's action links (one per action of its node, as
 * `<a href>` targets) and every page's tag snippet, which records the page view under its funnel,
 * node and page and adds the visitor, hit and node to the action links on the page by itself.
 */
export const funnelPageCodes = workspaceService({
  role: "viewer",
  input: z.object({ funnelId: id, domainId: id.optional() }),
  output: z.object({
    funnel: z.object({ id: z.string(), name: z.string() }),
    nodes: z.array(
      z.object({
        nodeId: z.string(),
        name: z.string(),
        kind: z.enum(["lander", "offer"]),
        pages: z.array(
          z.object({ pageId: z.string(), name: z.string(), url: z.string(), pageTag: z.string() }),
        ),
        actions: z.array(action),
      }),
    ),
  }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const funnel = await findFunnel(tx, { workspaceId: ctx.workspace.id, funnelId: input.funnelId });
      if (!funnel) throw notFound("funnel");
      const domain = await codeDomain(tx, ctx, input.domainId);
      const { nodes, actions } = await loadFunnelRows(tx, {
        workspaceId: ctx.workspace.id,
        funnelId: funnel.id,
      });
      const pageIds = nodes.flatMap((n) =>
        n.config.kind === "lander" || n.config.kind === "offer" ? n.config.pages.map((p) => p.pageId) : [],
      );
      const pages = await loadPages(tx, ctx.workspace.id, [...new Set(pageIds)]);
      const nameOf = new Map(nodes.map((n) => [n.id, n.name]));
      const out = [];
      for (const node of nodes) {
        const config = node.config;
        if (config.kind !== "lander" && config.kind !== "offer") continue;
        out.push({
          nodeId: node.id,
          name: node.name,
          kind: config.kind,
          pages: config.pages.flatMap((p) => {
            const page = pages.get(p.pageId);
            if (!page) return [];
            return [
              {
                pageId: p.pageId,
                name: page.name,
                url: page.url,
                pageTag: tagSnippet(domain.origin, { funnel: funnel.id, node: node.id, page: p.pageId }),
              },
            ];
          }),
          // Offers can have actions too (upsells), so every page node lists its own.
          actions: actions
            .filter((a) => a.fromNodeId === node.id)
            .map((a) => ({
              number: a.number,
              to: nameOf.get(a.toNodeId) ?? "",
              url: `${domain.origin}/action/${a.number}`,
              urlWithVisitor: `${domain.origin}/action/${a.number}?vid=REPLACE`,
            })),
        });
      }
      return { funnel: { id: funnel.id, name: funnel.name }, nodes: out };
    }),
});
