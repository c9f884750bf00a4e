import { resolveAction, resolveFromNode } from "@hitrail/core";
import { newId } from "@hitrail/db";
import { fireActionTriggers } from "./action-triggers.ts";
import { notFound, unroutable } from "./errors.ts";
import { findOrigin, refererIds } from "./origin.ts";
import { lenientId, optionalId } from "./params.ts";
import {
  type ClickRequest,
  type ClickResult,
  type ClickServices,
  recordClick,
  visitContext,
} from "./record.ts";

/**
 * `GET /action/{n}`: a visitor clicks action `n` on a page. Finds the page it was clicked on, follows
 * that node's action n through rotators and conditions to the next page, records the hit linked to
 * the one it came from, fires the action's triggers and says where to send the visitor.
 */
export async function takeAction(
  s: ClickServices,
  req: ClickRequest,
  actionNumber: number,
): Promise<ClickResult> {
  const { deps } = s;
  const { workspace, query } = req;
  const referer = refererIds(req.visit.referrer);
  const now = deps.now();
  const origin = await findOrigin(
    s,
    workspace,
    {
      hit: optionalId(query, "hit", "hit ID"),
      node: optionalId(query, "n", "node ID"),
      vid: optionalId(query, "vid", "visitor ID"),
      cookieVid: lenientId(req.cookieVisitorId),
      refererHit: referer.hit,
      refererVid: referer.vid,
    },
    now,
  );

  const funnel = await s.funnels.funnel(workspace.workspaceId, origin.hit.funnelId);
  if (funnel === null) throw notFound(`the funnel of the page this action was clicked on no longer exists`);
  const action = resolveAction(funnel.graph, origin.hit.nodeId, actionNumber);
  if (!action.ok) throw notFound(action.reason);
  const resolution = resolveFromNode(funnel.graph, action.action.to, visitContext(req, now), deps.rng);
  if (!resolution.ok)
    throw unroutable(`action ${actionNumber} cannot route this visit: ${resolution.reason}`);

  // An expired session means a new visitor (seed: sessions last 4 days from the last activity);
  // the journey's entry data and the link to the page clicked on carry over all the same.
  const visitorId = origin.session?.visitorId ?? newId();
  const { row, ...result } = await recordClick(s, {
    req,
    funnel,
    node: resolution.node,
    pageId: resolution.pageId,
    externalUrl: resolution.url,
    visitorId,
    entry: origin.entry,
    fieldNames: await trackingFieldNames(s, workspace.workspaceId, origin.entry.trafficSourceId),
    sessionEntry: origin.session === null ? origin.entry : undefined,
    prevHitId: origin.hit.hitId,
    withCost: false,
    now,
  });
  await fireActionTriggers(deps, {
    workspace,
    action: action.action,
    originHit: origin.hit,
    sessionHits: origin.session?.hits ?? [],
    hit: row,
    visitorId,
  });
  return result;
}

async function trackingFieldNames(s: ClickServices, workspaceId: string, trafficSourceId: string | null) {
  if (trafficSourceId === null) return [];
  try {
    const ts = await s.funnels.trafficSource(workspaceId, trafficSourceId);
    return ts?.trackingFields.map((f) => f.name) ?? [];
  } catch {
    // Only empty-field tokens depend on it: not worth failing a click while the database is away.
    return [];
  }
}
