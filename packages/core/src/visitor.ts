import { readIdField } from "./ids.ts";

export type PageKind = "lander" | "offer" | "external" | "none";

/** Which hit a conversion is for: named directly, or found in a visitor's session. */
export type ConversionTarget =
  | { by: "hit"; hitId: string }
  | { by: "visitor"; visitorId: string; pageId: string | null };

/** One hit of a visitor's journey, as the tracker keeps it in the session. */
export interface SessionHitRef {
  hitId: string;
  nodeId: string;
  pageId: string | null;
  pageKind: PageKind;
  funnelId: string;
  /** epoch ms */
  at: number;
}

export interface VisitorSession {
  visitorId: string;
  workspaceId: string;
  /** The journey, oldest first. */
  hits: SessionHitRef[];
  entry: {
    trafficSourceId: string | null;
    externalId: string | null;
    campaign: string | null;
    cost: string | null;
    fields: Record<string, string>;
  };
  createdAt: number;
  lastSeenAt: number;
}

/** Seed: sessions "last for 4 days by default, and they automatically extend when getting activity". */
export const DEFAULT_SESSION_TTL_MS = 4 * 24 * 60 * 60 * 1000;
/** Hits kept per session; older ones fall off so a bot looping a funnel cannot grow it forever. */
export const MAX_SESSION_HITS = 200;

/** Seed: conversions "can only occur on lander and offer page nodes". */
export function canConvert(pageKind: PageKind): boolean {
  return pageKind === "lander" || pageKind === "offer";
}

export function sessionExpiresAt(session: VisitorSession, ttlMs: number = DEFAULT_SESSION_TTL_MS): number {
  return session.lastSeenAt + ttlMs;
}

export function isSessionLive(
  session: VisitorSession,
  now: number,
  ttlMs: number = DEFAULT_SESSION_TTL_MS,
): boolean {
  return now < sessionExpiresAt(session, ttlMs);
}

/** The session after one more hit: the journey grows (bounded) and the session is extended. */
export function recordSessionHit(
  session: VisitorSession,
  hit: SessionHitRef,
  now: number,
  maxHits: number = MAX_SESSION_HITS,
): VisitorSession {
  const hits = [...session.hits.filter((h) => h.hitId !== hit.hitId), hit];
  return {
    ...session,
    hits: hits.length > maxHits ? hits.slice(hits.length - maxHits) : hits,
    lastSeenAt: Math.max(session.lastSeenAt, now),
  };
}

function mostRecent(
  hits: readonly SessionHitRef[],
  keep: (h: SessionHitRef) => boolean,
): SessionHitRef | null {
  let best: SessionHitRef | null = null;
  // Ties on `at` go to the later entry of the journey, which is the order the tracker saw them.
  for (const h of hits) if (keep(h) && (best === null || h.at >= best.at)) best = h;
  return best;
}

export type VisitorHitPick = { ok: true; hit: SessionHitRef } | { ok: false; reason: string };

/**
 * The hit a visitor-based conversion lands on. Seed: with `p`, "the most recent hit ID for that page
 * ID"; without, "it will use the last visited offer for that user's session".
 */
export function pickVisitorHit(session: VisitorSession, pageId: string | null): VisitorHitPick {
  if (pageId !== null) {
    const p = pageId.toLowerCase();
    const hit = mostRecent(session.hits, (h) => h.pageId?.toLowerCase() === p && canConvert(h.pageKind));
    if (hit === null)
      return { ok: false, reason: `visitor ${session.visitorId} has no hit on page ${pageId}` };
    return { ok: true, hit };
  }
  const hit = mostRecent(session.hits, (h) => h.pageKind === "offer");
  if (hit === null) return { ok: false, reason: `visitor ${session.visitorId} has visited no offer` };
  return { ok: true, hit };
}

export interface TagTrackArgs {
  hit?: string | null;
  vid?: string | null;
  p?: string | null;
}

export type TagTargetPick =
  | { ok: true; target: ConversionTarget; notes: string[] }
  | { ok: false; reason: string; field?: string };

/**
 * Where a `flux.track("conversion", {p, vid | hit})` call converts. Seed: "this code will convert
 * the most recently visited offer view. If you want to force a specific page ID you can pass the p
 * parameter, and you can also force a specific vid or hit (don't pass both)". The tracker then loads
 * the visitor's session and calls `pickVisitorHit` for a visitor target.
 */
export function pickTagTarget(args: TagTrackArgs, currentVisitorId: string | null): TagTargetPick {
  const notes: string[] = [];
  const hit = readIdField("hit", args.hit);
  const vid = readIdField("vid", args.vid);
  const p = readIdField("p", args.p);
  for (const [name, read] of [
    ["hit", hit],
    ["vid", vid],
    ["p", p],
  ] as const) {
    if (read.kind === "invalid") return { ok: false, reason: read.reason, field: name };
    if (read.kind === "absent" && read.macro !== null) notes.push(`unreplaced macro in ${name}`);
  }
  if (hit.kind === "id" && vid.kind === "id") {
    return { ok: false, reason: "pass vid or hit, not both", field: "vid" };
  }
  if (hit.kind === "id") {
    if (p.kind === "id") notes.push("p ignored: hit given");
    return { ok: true, target: { by: "hit", hitId: hit.id }, notes };
  }
  const pageId = p.kind === "id" ? p.id : null;
  if (vid.kind === "id") return { ok: true, target: { by: "visitor", visitorId: vid.id, pageId }, notes };
  const current = currentVisitorId === null ? null : readIdField("vid", currentVisitorId);
  if (current?.kind !== "id") {
    return { ok: false, reason: "no visitor on this page yet: pass vid or hit" };
  }
  return { ok: true, target: { by: "visitor", visitorId: current.id, pageId }, notes };
}

/** How long after a hit a view of the same page is that hit's own page load, not a new visit. */
export const VIEW_OF_REDIRECT_WINDOW_MS = 30_000;

/**
 * The hit a tag view belongs to when the page URL names none: the visitor's latest hit, when it is
 * on this very node and page and only moments old — the view is the page our redirect just sent
 * them to (an offer URL without a {hit} token), or a reload of it, and recording another hit would
 * count the visit twice. Anything older, or on another page, is a new visit.
 */
export function viewOfRecentHit(
  hits: readonly SessionHitRef[],
  page: { nodeId: string; pageId: string },
  now: number,
  windowMs = VIEW_OF_REDIRECT_WINDOW_MS,
): SessionHitRef | null {
  let latest: SessionHitRef | null = null;
  for (const h of hits) if (latest === null || h.at >= latest.at) latest = h;
  if (latest === null || latest.nodeId !== page.nodeId || latest.pageId !== page.pageId) return null;
  const age = now - latest.at;
  return age >= 0 && age <= windowMs ? latest : null;
}
