import { resolveFromNode } from "@hitrail/core";
import { newId } from "@hitrail/db";
import { readEntryParams } from "./entry-params.ts";
import { notFound, unroutable } from "./errors.ts";
import { lenientId, optionalId } from "./params.ts";
import {
  type ClickRequest,
  type ClickResult,
  type ClickServices,
  recordClick,
  visitContext,
} from "./record.ts";

/**
 * `GET /fts/{funnelId}?ts=…`: a visitor arrives from a traffic source. Routes from the funnel's
 * entry node to a page, starts the visitor's session (or resumes the live one named by `vid` or
 * the cookie), records the hit and says where to send the visitor.
 */
export async function takeEntrance(
  s: ClickServices,
  req: ClickRequest,
  funnelId: string,
): Promise<ClickResult> {
  const { deps } = s;
  const workspaceId = req.workspace.workspaceId;
  const trafficSourceId = optionalId(req.query, "ts", "traffic source ID");

  const funnel = await s.funnels.funnel(workspaceId, funnelId);
  if (funnel === null)
    throw notFound(
      `funnel ${funnelId} does not exist in this workspace, is archived, or has no entry node yet`,
    );
  const trafficSource =
    trafficSourceId === null ? null : await s.funnels.trafficSource(workspaceId, trafficSourceId);
  if (trafficSourceId !== null && trafficSource === null) {
    throw notFound(`traffic source ${trafficSourceId} does not exist in this workspace or is archived`);
  }
  const { entry, notes } = readEntryParams(trafficSource, req.query);
  if (notes.length > 0)
    deps.logger.info({ workspaceId, funnelId, notes }, "entrance link: parameters dropped");

  const now = deps.now();
  const resolution = resolveFromNode(
    funnel.graph,
    funnel.graph.entryNodeId,
    visitContext(req, now),
    deps.rng,
  );
  if (!resolution.ok) throw unroutable(`funnel ${funnelId} cannot route this visit: ${resolution.reason}`);

  const visitorId = (await liveVisitor(s, req, now)) ?? newId();
  const { row: _row, ...result } = await recordClick(s, {
    req,
    funnel,
    node: resolution.node,
    pageId: resolution.pageId,
    externalUrl: resolution.url,
    visitorId,
    entry,
    fieldNames: trafficSource?.trackingFields.map((f) => f.name) ?? [],
    // A fresh entrance restarts the journey's entry data, whether the session is new or resumed.
    sessionEntry: entry,
    prevHitId: null,
    withCost: true,
    now,
  });
  return result;
}

/** The visitor to resume: the `vid` parameter's, else the cookie's, while the session lives. */
async function liveVisitor(s: ClickServices, req: ClickRequest, now: number): Promise<string | null> {
  const { workspaceId, sessionTtlSeconds } = req.workspace;
  const candidates = [lenientId(req.query.vid), lenientId(req.cookieVisitorId)];
  for (const visitorId of candidates) {
    if (visitorId === null) continue;
    const { sessions } = s.deps;
    if (await sessions.tolerate(() => sessions.isLive(workspaceId, visitorId, sessionTtlSeconds, now), false))
      return visitorId;
  }
  return null;
}
