import type { SessionHitRef, VisitorSession } from "@hitrail/core";
import { findHit, type StoredHit } from "@hitrail/db";
import type { Entry } from "./entry-params.ts";
import { badRequest, notFound } from "./errors.ts";
import { lenientId } from "./params.ts";
import type { ClickServices } from "./record.ts";

/** Where an action link says it was clicked, strongest first (see `findOrigin`). */
export interface OriginHints {
  /** `hit` parameter from our tag: the hit of the page the link is on. */
  hit: string | null;
  /** `n` parameter from our tag: the node of the page the link is on, looked up in the session. */
  node: string | null;
  /** `vid` parameter. */
  vid: string | null;
  /** The tracker's cookie. */
  cookieVid: string | null;
  /** `hit` and `vid` found in the Referer's query. */
  refererHit: string | null;
  refererVid: string | null;
}

export type OriginSource = "hit" | "node" | "vid" | "cookie" | "referer";

export interface Origin {
  /** The page hit the action starts from; the new hit links back to it. */
  hit: SessionHitRef;
  /** The visitor's live session; null when it has expired (the origin then came from the hits table). */
  session: VisitorSession | null;
  /** Entry data the journey carries on with. */
  entry: Entry;
  source: OriginSource;
}

const isPage = (h: SessionHitRef) => h.pageKind === "lander" || h.pageKind === "offer";

/** The latest hit matching `keep`; the later one of the journey wins a tie on time. */
function mostRecent(
  hits: readonly SessionHitRef[],
  keep: (h: SessionHitRef) => boolean,
): SessionHitRef | null {
  let best: SessionHitRef | null = null;
  for (const h of hits) if (keep(h) && (best === null || h.at >= best.at)) best = h;
  return best;
}

/** `hit` and `vid` from a Referer URL's query; anything unreadable counts as absent. */
export function refererIds(referer: string | null): { hit: string | null; vid: string | null } {
  if (referer === null || !referer.includes("?")) return { hit: null, vid: null };
  try {
    const params = new URL(referer).searchParams;
    return { hit: lenientId(params.get("hit")), vid: lenientId(params.get("vid")) };
  } catch {
    return { hit: null, vid: null };
  }
}

function refFromStored(row: StoredHit): SessionHitRef {
  return {
    hitId: row.id,
    nodeId: row.nodeId,
    pageId: row.pageId,
    pageKind: row.pageKind,
    funnelId: row.funnelId,
    at: row.createdAt.getTime(),
  };
}

function entryFromStored(row: StoredHit): Entry {
  return {
    trafficSourceId: row.trafficSourceId,
    externalId: row.externalId,
    campaign: row.campaign,
    cost: row.cost,
    fields: row.trackingFields ?? {},
  };
}

/**
 * The page an action link was clicked on. In order: the tag's `hit` (that exact hit) or `n` (the
 * visitor's latest hit on that node: a back-button or second-tab click starts from the page it was
 * made on), the `vid` parameter, the cookie, then the Referer's `hit`/`vid`; a visitor alone means
 * their most recent page hit. A `hit` the session does not hold is read from the hits table, so a
 * link keeps working after the session is gone.
 */
export async function findOrigin(
  s: ClickServices,
  workspace: { workspaceId: string; sessionTtlSeconds: number },
  hints: OriginHints,
  now: number,
): Promise<Origin> {
  const sessions = new Map<string, Promise<VisitorSession | null>>();
  const sessionOf = (visitorId: string) => {
    let found = sessions.get(visitorId);
    if (found === undefined) {
      const { sessions: store } = s.deps;
      found = store.tolerate(
        () => store.get(workspace.workspaceId, visitorId, workspace.sessionTtlSeconds, now),
        null,
      );
      sessions.set(visitorId, found);
    }
    return found;
  };
  const visitors = [...new Set([hints.vid, hints.cookieVid, hints.refererVid].filter((v) => v !== null))];

  const byHit = async (hitId: string, source: OriginSource): Promise<Origin | null> => {
    for (const visitorId of visitors) {
      const session = await sessionOf(visitorId);
      const hit = session?.hits.find((h) => h.hitId === hitId);
      if (session && hit) return { hit, session, entry: session.entry, source };
    }
    // Under the breaker: while the database is down this answers at once (503), never after a wait.
    const row = await s.deps.breaker.call(() => findHit(s.deps.db.db, workspace.workspaceId, hitId), 1_000);
    if (row === undefined) return null;
    const session = await sessionOf(row.visitorId);
    const hit = session?.hits.find((h) => h.hitId === hitId) ?? refFromStored(row);
    return { hit, session, entry: session?.entry ?? entryFromStored(row), source };
  };

  const byVisitor = async (visitorId: string | null, source: OriginSource): Promise<Origin | null> => {
    if (visitorId === null) return null;
    const session = await sessionOf(visitorId);
    const hit = session === null ? null : mostRecent(session.hits, isPage);
    return session && hit ? { hit, session, entry: session.entry, source } : null;
  };

  if (hints.hit !== null) {
    const origin = await byHit(hints.hit, "hit");
    if (origin === null) throw notFound(`hit ${hints.hit} does not exist in this workspace`);
    return origin;
  }
  if (hints.node !== null) {
    const node = hints.node;
    for (const visitorId of visitors) {
      const session = await sessionOf(visitorId);
      const hit = session === null ? null : mostRecent(session.hits, (h) => h.nodeId === node);
      if (session && hit) return { hit, session, entry: session.entry, source: "node" };
    }
    // A node the journey never reached: fall back to where the visitor last was.
  }
  const origin =
    (await byVisitor(hints.vid, "vid")) ??
    (await byVisitor(hints.cookieVid, "cookie")) ??
    (hints.refererHit === null ? null : await byHit(hints.refererHit, "referer")) ??
    (await byVisitor(hints.refererVid, "referer"));
  if (origin !== null) return origin;
  if (visitors.length > 0) {
    throw notFound(
      "the visitor's session has expired, never existed or holds no lander or offer visit, so the page this action was clicked on is unknown: pass hit",
    );
  }
  throw badRequest(
    "this action link does not say which page it was clicked on: pass hit or vid (or keep the tracker's cookie)",
  );
}
