import { randomBytes } from "node:crypto";
import type { Executor } from "../client.ts";
import { createCampaignKit } from "../queries/campaign-kit.ts";
import { createWorkspace } from "../queries/workspaces.ts";

const unique = () => randomBytes(4).toString("hex");

/** Test factories: unique slugs and hosts, so tests never collide and can always add a second tenant. */
export const factories = {
  async workspace(db: Executor, opts: { slug?: string; baseDomain?: string; timeZone?: string } = {}) {
    const slug = opts.slug ?? `ws-${unique()}`;
    return createWorkspace(db, {
      slug,
      name: `Workspace ${slug}`,
      baseDomain: opts.baseDomain ?? "test.localhost",
      ...(opts.timeZone ? { timeZone: opts.timeZone } : {}),
    });
  },

  async campaign(
    db: Executor,
    workspaceId: string,
    opts: { postbackUrl?: string; pagesOrigin?: string } = {},
  ) {
    const origin = opts.pagesOrigin ?? "https://pages.example";
    return createCampaignKit(db, {
      workspaceId,
      trafficSourcePostbackUrl: opts.postbackUrl ?? null,
      landerUrl: `${origin}/lander?hit={hit}&vid={vid}`,
      offerUrls: [`${origin}/offer-a?clickid={hit}&vid={vid}`, `${origin}/offer-b?clickid={hit}&vid={vid}`],
    });
  },
};
