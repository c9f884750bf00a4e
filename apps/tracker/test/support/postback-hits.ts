import type { PageKind } from "@hitrail/core";
import { type CampaignKit, newId, newIdAt } from "@hitrail/db";
import type { LightMyRequestResponse } from "fastify";
import type { TrackerHarness } from "../harness.ts";

export interface Tenant {
  workspaceId: string;
  host: string;
  kit: CampaignKit;
}

export interface VisitOptions {
  visitorId: string;
  kind: "entry" | "lander" | "offerA" | "offerB";
  prevHitId?: string | null;
  /** When the visit happened (back-dates the hit id too); defaults to the harness clock. */
  at?: Date;
  externalId?: string | null;
  trackingFields?: Record<string, string>;
  cost?: string | null;
  ttlSeconds?: number;
  /** Leave the hit out of the session (as if it had expired or never been recorded there). */
  skipSession?: boolean;
}

const PAGE_KIND: Record<VisitOptions["kind"], PageKind> = {
  entry: "none",
  lander: "lander",
  offerA: "offer",
  offerB: "offer",
};

/**
 * One visit as the click path records it (until GET /fts/ and /action/ exist to drive instead): the
 * hit through the tracker's own HitWriter, then the visitor's session in Redis.
 */
export async function visit(h: TrackerHarness, tenant: Tenant, o: VisitOptions): Promise<string> {
  const at = o.at ?? new Date(h.clock.now);
  const { kit } = tenant;
  const pageId =
    o.kind === "lander"
      ? kit.landerId
      : o.kind === "offerA"
        ? kit.offerIds[0]
        : o.kind === "offerB"
          ? kit.offerIds[1]
          : null;
  const hitId = newIdAt(at);
  const nodeId = kit.nodes[o.kind];
  const outcome = await h.deps.hits.write({
    id: hitId,
    workspaceId: tenant.workspaceId,
    visitorId: o.visitorId,
    funnelId: kit.funnelId,
    nodeId,
    pageId,
    pageKind: PAGE_KIND[o.kind],
    trafficSourceId: kit.trafficSourceId,
    externalId: o.externalId ?? "ext-1",
    campaign: "camp-1",
    cost: o.cost ?? "0.05",
    trackingFields: o.trackingFields ?? { zone: "z-42", creative: "c-7" },
    prevHitId: o.prevHitId ?? null,
    createdAt: at,
  });
  if (outcome !== "committed") throw new Error(`hit ${hitId} was ${outcome}`);
  if (!o.skipSession) {
    await h.deps.sessions.recordHit({
      workspaceId: tenant.workspaceId,
      visitorId: o.visitorId,
      ttlSeconds: o.ttlSeconds ?? 4 * 86_400,
      hit: { hitId, nodeId, pageId, pageKind: PAGE_KIND[o.kind], funnelId: kit.funnelId, at: at.getTime() },
      ...(o.kind === "entry"
        ? {
            entry: {
              trafficSourceId: kit.trafficSourceId,
              externalId: o.externalId ?? "ext-1",
              campaign: "camp-1",
              cost: o.cost ?? "0.05",
              fields: o.trackingFields ?? { zone: "z-42", creative: "c-7" },
            },
          }
        : {}),
      now: at.getTime(),
    });
  }
  return hitId;
}

export interface ClickThrough {
  visitorId: string;
  entry: string;
  lander: string;
  offer: string;
}

/** Entrance → lander → action 1 → offer A (or 2 → offer B): the standard journey of the campaign kit. */
export async function clickThrough(
  h: TrackerHarness,
  tenant: Tenant,
  o: { at?: Date; offer?: "offerA" | "offerB"; visitorId?: string; externalId?: string } = {},
): Promise<ClickThrough> {
  const visitorId = o.visitorId ?? newId();
  const base = o.at?.getTime() ?? h.clock.now;
  const common = { visitorId, ...(o.externalId ? { externalId: o.externalId } : {}) };
  const entry = await visit(h, tenant, { ...common, kind: "entry", at: new Date(base - 3_000) });
  const lander = await visit(h, tenant, {
    ...common,
    kind: "lander",
    prevHitId: entry,
    at: new Date(base - 2_000),
  });
  const offer = await visit(h, tenant, {
    ...common,
    kind: o.offer ?? "offerA",
    prevHitId: lander,
    at: new Date(base - 1_000),
  });
  return { visitorId, entry, lander, offer };
}

/** GET /pb/ on the tenant's host with the given parameters. */
export function postback(
  h: TrackerHarness,
  host: string,
  params: Record<string, string>,
  opts: { ip?: string; method?: "GET" | "POST" } = {},
): Promise<LightMyRequestResponse> {
  const query = new URLSearchParams(params).toString();
  return h.app.inject({
    method: opts.method ?? "GET",
    url: `/pb/?${query}`,
    headers: { host },
    remoteAddress: opts.ip ?? "203.0.113.10",
  });
}
