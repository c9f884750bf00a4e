import { parseRevenue, type SessionHitRef, type VisitorSession, viewOfRecentHit } from "@hitrail/core";
import { findHit, newId } from "@hitrail/db";
import { visitorCookie } from "../click/cookie.ts";
import { tokenValues } from "../click/destination.ts";
import { type Entry, readEntryParams } from "../click/entry-params.ts";
import { notFound, unroutable } from "../click/errors.ts";
import { lenientId } from "../click/params.ts";
import { type ClickRequest, type ClickServices, recordClick } from "../click/record.ts";
import { id, MAX_TAG_URL, requiredId, type TagBody, text } from "./body.ts";

/** What `/js/view` answers: the tag keeps vid and hit, and fills `{token}` templates with tokens. */
export interface ViewAnswer {
  vid: string;
  hit: string;
  funnel: string;
  node: string;
  page: string;
  tokens: Record<string, string>;
  setCookie: string;
}

/** A page view as the tag reports it; `req.query` is the page URL's query string. */
export interface ViewRequest {
  req: ClickRequest;
  body: TagBody;
}

/** The visitor's latest hit; the later one of the journey wins a tie on time. */
function latest(hits: readonly SessionHitRef[]): SessionHitRef | null {
  let best: SessionHitRef | null = null;
  for (const h of hits) if (best === null || h.at >= best.at) best = h;
  return best;
}

/**
 * `POST /js/view`: the tag on a lander or offer page reports the view. A page reached through our
 * redirect already has its hit (`hit` in its URL) and is answered with it; any other view (a direct
 * link, a reload without the parameters, a page opened from a bookmark) is recorded exactly as the
 * redirect would have recorded it, joined to the visitor's live session when there is one.
 */
export async function recordView(s: ClickServices, v: ViewRequest): Promise<ViewAnswer> {
  const { deps } = s;
  const { body } = v;
  const { workspace } = v.req;
  const workspaceId = workspace.workspaceId;
  const funnelId = requiredId(body, "funnel", "funnel");
  const nodeId = requiredId(body, "node", "node");
  let pageId = id(body, "page");
  const trafficSourceId = id(body, "ts");
  // The tag sends the visitor it picked up from the URL (the workspace's parameter); a page running
  // an older cached tag only sends its URL, which carries the same parameter.
  const hintedVid = id(body, "vid") ?? lenientId(v.req.query[workspace.visitorIdParam]);
  const hintedHit = id(body, "hit");
  const rawCost = text(body, "cost", 64);
  text(body, "url", MAX_TAG_URL); // validated here; the route already read its query

  const funnel = await s.funnels.funnel(workspaceId, funnelId);
  if (funnel === null) throw notFound(`funnel ${funnelId} does not exist in this workspace`);
  const node = funnel.graph.nodes[nodeId];
  if (node === undefined) throw notFound(`node ${nodeId} is not in funnel ${funnelId}`);
  const config = node.config;
  if (config.kind !== "lander" && config.kind !== "offer") {
    throw unroutable(
      `node '${node.name}' is a ${config.kind} node: only lander and offer pages carry the tag`,
    );
  }
  // A node with one page needs no data-page; with several the page must say which one it is.
  if (pageId === null && config.pages.length === 1) pageId = config.pages[0]?.pageId ?? null;
  if (pageId === null) throw unroutable(`node '${node.name}' has several pages: pass page (data-page)`);
  const page = pageId;
  if (!config.pages.some((p) => p.pageId === page) || !funnel.pages.has(page)) {
    throw notFound(`page ${page} is not a page of node '${node.name}'`);
  }

  const now = deps.now();
  const session = await liveSession(s, v.req, hintedVid, now);

  // Arrived through our redirect: the hit exists, a second one would count the visit twice. The tag
  // passes the URL's `hit`; a page URL may carry it under its own name (offers: `clickid={hit}`),
  // so any ID in the page's query that is this visitor's hit on this node counts too.
  const fromUrl = hintedHit !== null || session === null ? undefined : urlHit(session, v.req.query, nodeId);
  // An offer URL without any {hit}: the visitor's moments-old hit on this very page is the one.
  const recent =
    hintedHit !== null || fromUrl !== undefined || session === null
      ? null
      : viewOfRecentHit(session.hits, { nodeId, pageId: page }, now);
  const redirected = hintedHit ?? fromUrl?.hitId ?? recent?.hitId ?? null;
  if (redirected !== null) {
    const known = await redirectHit(s, workspaceId, session, redirected, nodeId);
    if (known !== null) {
      return {
        ...(await answer(s, v.req, {
          visitorId: known.visitorId,
          hitId: redirected,
          funnelId,
          nodeId,
          pageId: page,
          entry: known.entry,
        })),
        setCookie: visitorCookie(known.visitorId, workspace.sessionTtlSeconds, deps.env.PUBLIC_SCHEME),
      };
    }
  }

  let entry: Entry;
  if (session !== null) {
    entry = session.entry;
  } else {
    // A direct-linked entry: the page URL carries what an entrance link would have.
    const query = v.req.query;
    const tsId = trafficSourceId ?? lenientId(query.ts);
    const trafficSource = tsId === null ? null : await s.funnels.trafficSource(workspaceId, tsId);
    if (tsId !== null && trafficSource === null) {
      throw notFound(`traffic source ${tsId} does not exist in this workspace`);
    }
    const read = readEntryParams(trafficSource, query);
    entry = read.entry;
    if (rawCost !== null) {
      const cost = parseRevenue(rawCost);
      if (cost.kind === "value" && !cost.value.startsWith("-")) entry = { ...entry, cost: cost.value };
      else read.notes.push(`cost '${rawCost}' is not an amount; recorded without cost`);
    }
    if (read.notes.length > 0)
      deps.logger.info({ workspaceId, funnelId, notes: read.notes }, "tag view: parameters dropped");
  }
  const previous = session === null ? null : latest(session.hits);
  const visitorId = session?.visitorId ?? newId();
  const { row, setCookie } = await recordClick(s, {
    req: v.req,
    funnel,
    node,
    pageId: page,
    externalUrl: null,
    visitorId,
    entry,
    fieldNames: await fieldNames(s, workspaceId, entry.trafficSourceId),
    sessionEntry: session === null ? entry : undefined,
    prevHitId: previous !== null && previous.funnelId === funnelId ? previous.hitId : null,
    // Cost belongs to the journey's first hit, as on an entrance.
    withCost: session === null,
    now,
  });
  return {
    ...(await answer(s, v.req, { visitorId, hitId: row.id, funnelId, nodeId, pageId: page, entry })),
    setCookie,
  };
}

const MAX_URL_IDS = 20;

/** This node's hit of the session whose ID the page's URL carries under any parameter name. */
function urlHit(
  session: VisitorSession,
  query: Record<string, string>,
  nodeId: string,
): SessionHitRef | undefined {
  const ids = new Set<string>();
  for (const value of Object.values(query)) {
    const id = lenientId(value);
    if (id !== null) ids.add(id);
    if (ids.size >= MAX_URL_IDS) break;
  }
  if (ids.size === 0) return undefined;
  return session.hits.find((h) => h.nodeId === nodeId && ids.has(h.hitId));
}

/** The session named by the tag's vid, else the cookie's, while it lives. */
async function liveSession(
  s: ClickServices,
  req: ClickRequest,
  hintedVid: string | null,
  now: number,
): Promise<VisitorSession | null> {
  const { workspaceId, sessionTtlSeconds } = req.workspace;
  for (const visitorId of new Set([hintedVid, req.cookieVisitorId])) {
    if (visitorId === null) continue;
    const session = await s.deps.sessions.get(workspaceId, visitorId, sessionTtlSeconds, now);
    if (session !== null) return session;
  }
  return null;
}

/**
 * The hit the page's URL names, when it is a visit of this node by this visitor (or by a visitor
 * the request did not name: the URL then is the only thing carrying it).
 */
async function redirectHit(
  s: ClickServices,
  workspaceId: string,
  session: VisitorSession | null,
  hitId: string,
  nodeId: string,
): Promise<{ visitorId: string; entry: Entry } | null> {
  const inSession = session?.hits.find((h) => h.hitId === hitId);
  if (session !== null && inSession !== undefined) {
    return inSession.nodeId === nodeId ? { visitorId: session.visitorId, entry: session.entry } : null;
  }
  const row = await findHit(s.deps.db.db, workspaceId, hitId);
  if (row === undefined || row.nodeId !== nodeId) return null;
  if (session !== null && row.visitorId !== session.visitorId) return null;
  return {
    visitorId: row.visitorId,
    entry: {
      trafficSourceId: row.trafficSourceId,
      externalId: row.externalId,
      campaign: row.campaign,
      cost: row.cost,
      fields: row.trackingFields ?? {},
    },
  };
}

async function fieldNames(s: ClickServices, workspaceId: string, trafficSourceId: string | null) {
  if (trafficSourceId === null) return [];
  const ts = await s.funnels.trafficSource(workspaceId, trafficSourceId);
  return ts?.trackingFields.map((f) => f.name) ?? [];
}

async function answer(
  s: ClickServices,
  req: ClickRequest,
  a: { visitorId: string; hitId: string; funnelId: string; nodeId: string; pageId: string; entry: Entry },
): Promise<Omit<ViewAnswer, "setCookie">> {
  const values = tokenValues({
    template: "",
    pageKind: "lander",
    hitId: a.hitId,
    visitorId: a.visitorId,
    funnelId: a.funnelId,
    nodeId: a.nodeId,
    pageId: a.pageId,
    entry: a.entry,
    fieldNames: await fieldNames(s, req.workspace.workspaceId, a.entry.trafficSourceId),
    visit: req.visit,
  });
  const tokens: Record<string, string> = {};
  // Empty like in a redirect's URL: a token the visit has no value for fills in as nothing.
  for (const [name, value] of Object.entries(values)) tokens[name] = value ?? "";
  return {
    vid: a.visitorId,
    hit: a.hitId,
    funnel: a.funnelId,
    node: a.nodeId,
    page: a.pageId,
    tokens,
  };
}
