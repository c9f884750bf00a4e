import type { PageKind } from "../visitor.ts";

/** One hit as stored, with the link to the hit the visitor came from. */
export interface ChainHit {
  hitId: string;
  prevHitId: string | null;
  nodeId: string;
  pageId: string | null;
  pageKind: PageKind;
  funnelId: string;
  /** epoch ms */
  at: number;
}

/** A conversion's credit to one hit of the path that led to it. */
export interface Touch {
  hitId: string;
  nodeId: string;
  pageId: string | null;
  pageKind: PageKind;
  funnelId: string;
  at: number;
  /** "direct" for the converting hit, "assisted" for the pages visited before it. */
  kind: "direct" | "assisted";
  /** 0 for the converting hit, then 1, 2, … going back along the path. */
  position: number;
}

/** Steps walked back from the converting hit; a longer path is a bot or a bug, not a buyer. */
export const MAX_ATTRIBUTION_STEPS = 64;

function touchOf(hit: ChainHit, kind: Touch["kind"], position: number): Touch {
  const { hitId, nodeId, pageId, pageKind, funnelId, at } = hit;
  return { hitId, nodeId, pageId, pageKind, funnelId, at, kind, position };
}

/**
 * Backward attribution. Seed: "a conversion for any visitor will also attribute backward to
 * pages/nodes they visited before converting the page." `chain` is the converting hit and its
 * ancestors (any order, as fetched by following prevHitId); cycles, repeats and missing links end the
 * walk instead of failing it. Only earlier page hits (lander, offer) of the same funnel are credited.
 */
export function buildTouches(chain: readonly ChainHit[], convertingHitId: string): Touch[] {
  const byId = new Map<string, ChainHit>();
  for (const hit of chain) if (!byId.has(hit.hitId)) byId.set(hit.hitId, hit);
  const converting = byId.get(convertingHitId);
  if (converting === undefined) return [];

  const touches: Touch[] = [touchOf(converting, "direct", 0)];
  const seen = new Set<string>([converting.hitId]);
  let current = converting;
  for (let step = 0; step < MAX_ATTRIBUTION_STEPS; step++) {
    if (current.prevHitId === null) break;
    const prev = byId.get(current.prevHitId);
    if (prev === undefined || seen.has(prev.hitId)) break;
    seen.add(prev.hitId);
    const isPage = (prev.pageKind === "lander" || prev.pageKind === "offer") && prev.pageId !== null;
    if (isPage && prev.funnelId === converting.funnelId) {
      touches.push(touchOf(prev, "assisted", touches.length));
    }
    current = prev;
  }
  return touches;
}
