import type { ActionTriggers } from "@hitrail/core";
import { and, eq } from "drizzle-orm";
import type { Executor } from "../client.ts";
import { newId } from "../ids.ts";
import { funnelNodes, funnels, offerSources, trafficSources } from "../schema/index.ts";
import { type FunnelGraphInput, saveFunnelGraph } from "./funnels.ts";
import { createLander } from "./landers.ts";
import { createOfferSource } from "./offer-sources.ts";
import { createOffer } from "./offers.ts";
import { createTrafficSource } from "./traffic-sources.ts";

export interface CampaignKitInput {
  workspaceId: string;
  name?: string;
  trafficSourcePostbackUrl?: string | null;
  landerUrl: string;
  offerUrls: [string, string];
  payouts?: [string, string];
}

export interface CampaignKit {
  trafficSourceId: string;
  offerSourceId: string;
  landerId: string;
  offerIds: [string, string];
  funnelId: string;
  nodes: { entry: string; lander: string; offerA: string; offerB: string };
}

/**
 * The smallest real campaign: a traffic source, an offer source, a lander and two offers joined by
 * a funnel entry → lander → action 1 → offer A, action 2 → offer B. The demo seed and test
 * factories both build it, so both exercise the same shape users start from.
 */
export async function createCampaignKit(db: Executor, input: CampaignKitInput): Promise<CampaignKit> {
  const name = input.name ?? "Demo";
  const [payoutA, payoutB] = input.payouts ?? ["12.50", "30.00"];
  const trafficSource = await createTrafficSource(db, {
    workspaceId: input.workspaceId,
    name: `${name} traffic source`,
    postbackUrl: input.trafficSourcePostbackUrl ?? null,
    trackingFields: [
      { name: "zone", param: "zone" },
      { name: "creative", param: "creative" },
    ],
  });
  const offerSource = await createOfferSource(db, {
    workspaceId: input.workspaceId,
    name: `${name} network`,
    clickIdParam: "clickid",
    postbackTemplate: "https://DOMAIN/pb/?hit={clickid}&tx={transaction}&rev={payout}",
  });
  const lander = await createLander(db, {
    workspaceId: input.workspaceId,
    name: `${name} lander`,
    url: input.landerUrl,
  });
  const offerA = await createOffer(db, {
    workspaceId: input.workspaceId,
    offerSourceId: offerSource.id,
    name: `${name} offer A`,
    url: input.offerUrls[0],
    defaultPayout: payoutA,
  });
  const offerB = await createOffer(db, {
    workspaceId: input.workspaceId,
    offerSourceId: offerSource.id,
    name: `${name} offer B`,
    url: input.offerUrls[1],
    defaultPayout: payoutB,
  });
  const nodes = { entry: newId(), lander: newId(), offerA: newId(), offerB: newId() };
  const { funnelId } = await saveFunnelGraph(
    db,
    campaignKitGraph({
      workspaceId: input.workspaceId,
      name,
      nodes,
      landerId: lander.id,
      offerIds: [offerA.id, offerB.id],
    }),
  );
  return {
    trafficSourceId: trafficSource.id,
    offerSourceId: offerSource.id,
    landerId: lander.id,
    offerIds: [offerA.id, offerB.id],
    funnelId,
    nodes,
  };
}

/**
 * The kit's funnel graph (entry → lander; action 1 → offer A, action 2 → offer B), optionally with
 * on-action triggers: what createCampaignKit saves, and what a test saves again (with `funnelId`)
 * to put triggers on the kit's actions.
 */
export function campaignKitGraph(input: {
  workspaceId: string;
  name?: string;
  funnelId?: string;
  nodes: CampaignKit["nodes"];
  landerId: string;
  offerIds: readonly [string, string];
  triggers?: { action1?: ActionTriggers; action2?: ActionTriggers };
}): FunnelGraphInput {
  const { nodes } = input;
  const name = input.name ?? "Demo";
  return {
    workspaceId: input.workspaceId,
    ...(input.funnelId ? { funnelId: input.funnelId } : {}),
    name: `${name} funnel`,
    entryNodeId: nodes.entry,
    nodes: [
      {
        id: nodes.entry,
        name: "Traffic entry",
        config: { kind: "entry", routes: [{ to: nodes.lander, weight: 1 }] },
      },
      {
        id: nodes.lander,
        name: "Lander",
        config: { kind: "lander", pages: [{ pageId: input.landerId, weight: 1 }] },
      },
      {
        id: nodes.offerA,
        name: "Offer A",
        config: { kind: "offer", pages: [{ pageId: input.offerIds[0], weight: 1 }] },
      },
      {
        id: nodes.offerB,
        name: "Offer B",
        config: { kind: "offer", pages: [{ pageId: input.offerIds[1], weight: 1 }] },
      },
    ],
    actions: [
      { from: nodes.lander, number: 1, to: nodes.offerA, triggers: input.triggers?.action1 ?? {} },
      { from: nodes.lander, number: 2, to: nodes.offerB, triggers: input.triggers?.action2 ?? {} },
    ],
  };
}

/**
 * Finds a kit createCampaignKit made under `name`, by the names it gave its parts; null when any
 * part was renamed or removed since (the kit is then the user's, no longer a kit).
 */
export async function findCampaignKit(
  db: Executor,
  input: { workspaceId: string; name?: string },
): Promise<CampaignKit | null> {
  const name = input.name ?? "Demo";
  const [funnel] = await db
    .select()
    .from(funnels)
    .where(and(eq(funnels.workspaceId, input.workspaceId), eq(funnels.name, `${name} funnel`)))
    .limit(1);
  if (!funnel?.entryNodeId) return null;
  const nodes = await db.select().from(funnelNodes).where(eq(funnelNodes.funnelId, funnel.id));
  const byName = (nodeName: string) => nodes.find((n) => n.name === nodeName);
  const lander = byName("Lander");
  const offerA = byName("Offer A");
  const offerB = byName("Offer B");
  const pageOf = (n: typeof lander) =>
    n?.config.kind === "lander" || n?.config.kind === "offer" ? n.config.pages[0]?.pageId : undefined;
  const [ts] = await db
    .select()
    .from(trafficSources)
    .where(
      and(
        eq(trafficSources.workspaceId, input.workspaceId),
        eq(trafficSources.name, `${name} traffic source`),
      ),
    )
    .limit(1);
  const [os] = await db
    .select()
    .from(offerSources)
    .where(and(eq(offerSources.workspaceId, input.workspaceId), eq(offerSources.name, `${name} network`)))
    .limit(1);
  const landerId = pageOf(lander);
  const offerAId = pageOf(offerA);
  const offerBId = pageOf(offerB);
  if (!ts || !os || !lander || !offerA || !offerB || !landerId || !offerAId || !offerBId) return null;
  return {
    trafficSourceId: ts.id,
    offerSourceId: os.id,
    landerId,
    offerIds: [offerAId, offerBId],
    funnelId: funnel.id,
    nodes: { entry: funnel.entryNodeId, lander: lander.id, offerA: offerA.id, offerB: offerB.id },
  };
}
