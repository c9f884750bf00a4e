import { type FunnelNode, type PageKind, redirectVisitorParam, type VisitContext } from "@hitrail/core";
import { type LoadedFunnel, newId } from "@hitrail/db";
import type { TrackerDeps } from "../deps.ts";
import type { FunnelCache } from "../funnel-cache.ts";
import type { HitRow } from "../hit-writer.ts";
import type { Visit } from "../visit-context.ts";
import type { HostWorkspace } from "../workspace-resolver.ts";
import { visitorCookie } from "./cookie.ts";
import { destinationUrl } from "./destination.ts";
import type { Entry } from "./entry-params.ts";
import { unroutable } from "./errors.ts";

/** What the click use-cases work with: the tracker's dependencies and its in-memory funnels. */
export interface ClickServices {
  deps: TrackerDeps;
  funnels: FunnelCache;
}

/** A click as read from the request: nothing here has touched the database or Redis. */
export interface ClickRequest {
  workspace: HostWorkspace;
  query: Record<string, string>;
  /** The visitor ID in the tracker's cookie, if it holds one. */
  cookieVisitorId: string | null;
  visit: Visit;
}

/** What the route answers with: a 302 to `location` and the visitor cookie. */
export interface ClickResult {
  location: string;
  setCookie: string;
  hitId: string;
  visitorId: string;
}

export function visitContext(req: ClickRequest, now: number): VisitContext {
  const v = req.visit;
  return {
    country: v.country,
    device: v.device,
    os: v.os,
    browser: v.browser,
    language: v.languageTag,
    ip: v.ip,
    query: req.query,
    now,
  };
}

export interface ClickToRecord {
  req: ClickRequest;
  funnel: LoadedFunnel;
  /** The page node (or external URL) routing reached. */
  node: FunnelNode;
  pageId: string | null;
  externalUrl: string | null;
  visitorId: string;
  entry: Entry;
  /** Names of the traffic source's tracking fields (tokens that exist even when empty). */
  fieldNames: readonly string[];
  /** Written to the session when it starts (or an entrance refreshes it); omitted for action clicks. */
  sessionEntry: Entry | undefined;
  prevHitId: string | null;
  /** Cost belongs to the entrance only: copying it to every later hit would count it again. */
  withCost: boolean;
  now: number;
}

/**
 * Makes the hit for a routed click, waits until it is safe (committed or spooled) and recorded in
 * the visitor's session, and returns where to send the visitor.
 */
export async function recordClick(
  s: ClickServices,
  c: ClickToRecord,
): Promise<ClickResult & { row: HitRow }> {
  const { deps } = s;
  const { workspace, visit } = c.req;
  const kind = c.node.config.kind;
  let pageKind: PageKind;
  let template: string;
  let passVisitorId = false;
  if (kind === "lander" || kind === "offer") {
    const page = c.pageId === null ? undefined : c.funnel.pages.get(c.pageId);
    if (page === undefined) {
      throw unroutable(`node '${c.node.name}' sends visits to page ${c.pageId}, which no longer exists`);
    }
    pageKind = kind;
    template = page.url;
    passVisitorId = page.passVisitorId;
  } else if (kind === "external" && c.externalUrl !== null) {
    pageKind = "external";
    template = c.externalUrl;
  } else {
    throw unroutable(`node '${c.node.name}' is a ${kind} node, not a page`);
  }

  const hitId = newId();
  const row: HitRow = {
    id: hitId,
    workspaceId: workspace.workspaceId,
    visitorId: c.visitorId,
    funnelId: c.funnel.graph.id,
    nodeId: c.node.id,
    pageId: pageKind === "external" ? null : c.pageId,
    pageKind,
    trafficSourceId: c.entry.trafficSourceId,
    externalId: c.entry.externalId,
    campaign: c.entry.campaign,
    cost: c.withCost ? c.entry.cost : null,
    trackingFields: c.entry.fields,
    prevHitId: c.prevHitId,
    ip: visit.ip,
    userAgent: visit.userAgent,
    deviceType: visit.device,
    os: visit.os,
    browser: visit.browser,
    country: visit.country,
    language: visit.language,
    referrer: visit.referrer,
    isBot: visit.isBot,
    createdAt: new Date(c.now),
  };
  const { url } = destinationUrl({
    template,
    pageKind,
    hitId,
    visitorId: c.visitorId,
    funnelId: row.funnelId,
    nodeId: row.nodeId,
    pageId: row.pageId ?? null,
    entry: c.entry,
    fieldNames: c.fieldNames,
    visit,
    visitorIdParam: redirectVisitorParam({ kind: pageKind, passVisitorId }, workspace.visitorIdParam),
  });

  // Both must hold before the 302 leaves; they do not depend on each other, so they run together.
  // Without Redis the hit still commits and the visitor is still sent on: the session is what a
  // visit can lose, never the hit.
  await Promise.all([
    deps.hits.write(row),
    deps.sessions.tolerate(
      () =>
        deps.sessions.recordHit({
          workspaceId: workspace.workspaceId,
          visitorId: c.visitorId,
          ttlSeconds: workspace.sessionTtlSeconds,
          hit: {
            hitId,
            nodeId: row.nodeId,
            pageId: row.pageId ?? null,
            pageKind,
            funnelId: row.funnelId,
            at: c.now,
          },
          ...(c.sessionEntry ? { entry: c.sessionEntry } : {}),
          now: c.now,
        }),
      undefined,
    ),
  ]);

  return {
    location: url,
    setCookie: visitorCookie(c.visitorId, workspace.sessionTtlSeconds, deps.env.PUBLIC_SCHEME),
    hitId,
    visitorId: c.visitorId,
    row,
  };
}
