import {
  type CostActor,
  type CostUpdateRow,
  costActorLabels,
  type Executor,
  reportLabels,
} from "@hitrail/db";
import type { ServiceContext } from "../context.ts";
import type { Names } from "./schemas.ts";

export const costActor = (ctx: Pick<ServiceContext, "actor">): CostActor =>
  ctx.actor.kind === "user" ? { userId: ctx.actor.userId } : { apiKeyId: ctx.actor.apiKeyId };

/** Names of the people, keys, sources and funnels a list of updates mentions. */
export async function namesFor(
  tx: Executor,
  workspaceId: string,
  rows: readonly CostUpdateRow[],
): Promise<Names> {
  const ids = new Set<string>();
  for (const r of rows) {
    if (r.trafficSourceId) ids.add(r.trafficSourceId);
    if (r.funnelId) ids.add(r.funnelId);
  }
  const [actors, objects] = await Promise.all([
    costActorLabels(tx, workspaceId),
    reportLabels(tx, { workspaceId, ids: [...ids] }),
  ]);
  return { actors, objects };
}
