import type { ActionTriggers, FunnelAction, FunnelGraph, FunnelNode, NodeConfig } from "@hitrail/core";
import { and, asc, desc, eq, inArray, notInArray, sql } from "drizzle-orm";
import type { Executor } from "../client.ts";
import { newId } from "../ids.ts";
import { funnelActions, funnelNodes, funnels, landers, offers, workspaces } from "../schema/index.ts";
import { listFilter, type ObjectListInput } from "./objects.ts";

export interface FunnelGraphInput {
  workspaceId: string;
  funnelId?: string;
  name: string;
  entryNodeId: string;
  nodes: Array<{ id: string; name: string; config: NodeConfig; position?: { x: number; y: number } }>;
  actions: Array<{ from: string; number: number; to: string; triggers?: ActionTriggers }>;
}

/**
 * Replaces a funnel's graph in one transaction and bumps its version, which is what trackers watch
 * to refresh their cached copy.
 */
export async function saveFunnelGraph(
  db: Executor,
  input: FunnelGraphInput,
): Promise<{ funnelId: string; version: number }> {
  return db.transaction(async (tx) => {
    const funnelId = input.funnelId ?? newId();
    const [funnel] = await tx
      .insert(funnels)
      .values({ id: funnelId, workspaceId: input.workspaceId, name: input.name, entryNodeId: null })
      .onConflictDoUpdate({
        target: funnels.id,
        set: { name: input.name, version: sql`${funnels.version} + 1`, updatedAt: sql`now()` },
        setWhere: eq(funnels.workspaceId, input.workspaceId),
      })
      .returning({ id: funnels.id, version: funnels.version });
    if (!funnel) throw new Error(`funnel ${funnelId} not found`);

    await tx.delete(funnelActions).where(eq(funnelActions.funnelId, funnelId));
    const keep = input.nodes.map((n) => n.id);
    await tx
      .delete(funnelNodes)
      .where(
        keep.length > 0
          ? and(eq(funnelNodes.funnelId, funnelId), notInArray(funnelNodes.id, keep))
          : eq(funnelNodes.funnelId, funnelId),
      );
    for (const node of input.nodes) {
      const values = {
        workspaceId: input.workspaceId,
        funnelId,
        kind: node.config.kind,
        name: node.name,
        config: node.config,
        position: node.position ?? { x: 0, y: 0 },
      };
      await tx
        .insert(funnelNodes)
        .values({ id: node.id, ...values })
        .onConflictDoUpdate({ target: funnelNodes.id, set: values });
    }
    if (input.actions.length > 0) {
      await tx.insert(funnelActions).values(
        input.actions.map((a) => ({
          workspaceId: input.workspaceId,
          funnelId,
          fromNodeId: a.from,
          number: a.number,
          toNodeId: a.to,
          triggers: a.triggers ?? {},
        })),
      );
    }
    await tx.update(funnels).set({ entryNodeId: input.entryNodeId }).where(eq(funnels.id, funnelId));
    return { funnelId, version: funnel.version };
  });
}

export interface PageInfo {
  id: string;
  kind: "lander" | "offer";
  name: string;
  url: string;
  defaultPayout: string;
  /** The redirect appends the visitor ID (always for landers; offers may opt out). */
  passVisitorId: boolean;
}

export interface LoadedFunnel {
  graph: FunnelGraph;
  version: number;
  pages: Map<string, PageInfo>;
}

/** The funnel as the tracker runs it: graph, actions, and every page its nodes can send to. */
export async function loadFunnel(
  db: Executor,
  workspaceId: string,
  funnelId: string,
): Promise<LoadedFunnel | undefined> {
  const [funnel] = await db
    .select({
      id: funnels.id,
      version: funnels.version,
      entryNodeId: funnels.entryNodeId,
      archivedAt: funnels.archivedAt,
      timeZone: workspaces.timeZone,
    })
    .from(funnels)
    .innerJoin(workspaces, eq(workspaces.id, funnels.workspaceId))
    .where(and(eq(funnels.workspaceId, workspaceId), eq(funnels.id, funnelId)))
    .limit(1);
  // An archived funnel routes nobody: its links answer like a funnel that does not exist.
  if (!funnel?.entryNodeId || funnel.archivedAt !== null) return undefined;
  const [nodeRows, actionRows] = await Promise.all([
    db
      .select()
      .from(funnelNodes)
      .where(and(eq(funnelNodes.workspaceId, workspaceId), eq(funnelNodes.funnelId, funnelId))),
    db
      .select()
      .from(funnelActions)
      .where(and(eq(funnelActions.workspaceId, workspaceId), eq(funnelActions.funnelId, funnelId))),
  ]);
  const nodes: Record<string, FunnelNode> = {};
  const pageIds = new Set<string>();
  for (const n of nodeRows) {
    nodes[n.id] = { id: n.id, name: n.name, config: n.config };
    if (n.config.kind === "lander" || n.config.kind === "offer") {
      for (const p of n.config.pages) pageIds.add(p.pageId);
    }
  }
  const actions: Record<string, Record<number, FunnelAction>> = {};
  for (const a of actionRows) {
    const byNumber = actions[a.fromNodeId] ?? {};
    actions[a.fromNodeId] = byNumber;
    byNumber[a.number] = { from: a.fromNodeId, number: a.number, to: a.toNodeId, triggers: a.triggers };
  }
  const pages = await loadPages(db, workspaceId, [...pageIds]);
  return {
    graph: {
      id: funnel.id,
      workspaceId,
      entryNodeId: funnel.entryNodeId,
      timeZone: funnel.timeZone,
      nodes,
      actions,
    },
    version: funnel.version,
    pages,
  };
}

export async function loadPages(
  db: Executor,
  workspaceId: string,
  ids: string[],
): Promise<Map<string, PageInfo>> {
  const pages = new Map<string, PageInfo>();
  if (ids.length === 0) return pages;
  const [landerRows, offerRows] = await Promise.all([
    db
      .select({ id: landers.id, name: landers.name, url: landers.url, defaultPayout: landers.defaultPayout })
      .from(landers)
      .where(and(eq(landers.workspaceId, workspaceId), inArray(landers.id, ids))),
    db
      .select({
        id: offers.id,
        name: offers.name,
        url: offers.url,
        defaultPayout: offers.defaultPayout,
        passVisitorId: offers.passVisitorId,
      })
      .from(offers)
      .where(and(eq(offers.workspaceId, workspaceId), inArray(offers.id, ids))),
  ]);
  for (const l of landerRows) pages.set(l.id, { ...l, kind: "lander", passVisitorId: true });
  for (const o of offerRows) pages.set(o.id, { ...o, kind: "offer" });
  return pages;
}

/** Current versions of a workspace's funnels: a cheap poll for cache invalidation. */
export async function funnelVersions(db: Executor, workspaceId: string): Promise<Map<string, number>> {
  const rows = await db
    .select({ id: funnels.id, version: funnels.version })
    .from(funnels)
    .where(eq(funnels.workspaceId, workspaceId));
  return new Map(rows.map((r) => [r.id, r.version]));
}

/**
 * Bumps the version of every funnel with a lander or offer node that sends to `pageId`: a page's URL
 * or payout is part of the funnel a tracker caches, so an edit of the page must reach trackers the
 * way a save of the funnel does. Returns the new versions, for the caller to announce.
 */
export async function bumpFunnelsUsingPage(
  db: Executor,
  input: { workspaceId: string; pageId: string },
): Promise<Array<{ id: string; version: number }>> {
  return db
    .update(funnels)
    .set({ version: sql`${funnels.version} + 1` })
    .where(
      and(
        eq(funnels.workspaceId, input.workspaceId),
        inArray(
          funnels.id,
          db
            .select({ id: funnelNodes.funnelId })
            .from(funnelNodes)
            .where(
              and(
                eq(funnelNodes.workspaceId, input.workspaceId),
                inArray(funnelNodes.kind, ["lander", "offer"]),
                sql`${funnelNodes.config} -> 'pages' @> ${JSON.stringify([{ pageId: input.pageId }])}::jsonb`,
              ),
            ),
        ),
      ),
    )
    .returning({ id: funnels.id, version: funnels.version });
}

// --- as the dashboard lists them ------------------------------------------------------------------------------------------

export type FunnelRow = typeof funnels.$inferSelect;
export type FunnelNodeRow = typeof funnelNodes.$inferSelect;
export type FunnelActionRow = typeof funnelActions.$inferSelect;

export async function listFunnels(db: Executor, input: ObjectListInput) {
  return db
    .select({
      id: funnels.id,
      name: funnels.name,
      entryNodeId: funnels.entryNodeId,
      version: funnels.version,
      archivedAt: funnels.archivedAt,
      createdAt: funnels.createdAt,
      updatedAt: funnels.updatedAt,
      // Spelled out: drizzle renders a single-table select's columns unqualified, and an unqualified
      // "id" inside the subquery is the node's own id, which counted nothing.
      nodeCount: sql<number>`(select count(*)::int from funnel_nodes n where n.workspace_id = funnels.workspace_id and n.funnel_id = funnels.id)`,
    })
    .from(funnels)
    .where(listFilter(funnels, input))
    .orderBy(desc(funnels.id))
    .limit(input.limit);
}

export async function findFunnel(
  db: Executor,
  input: { workspaceId: string; funnelId: string },
): Promise<FunnelRow | undefined> {
  const [row] = await db
    .select()
    .from(funnels)
    .where(and(eq(funnels.workspaceId, input.workspaceId), eq(funnels.id, input.funnelId)))
    .limit(1);
  return row;
}

/** A funnel's nodes and actions as stored (the builder's view, positions included). */
export async function loadFunnelRows(db: Executor, input: { workspaceId: string; funnelId: string }) {
  const [nodes, actions] = await Promise.all([
    db
      .select()
      .from(funnelNodes)
      .where(and(eq(funnelNodes.workspaceId, input.workspaceId), eq(funnelNodes.funnelId, input.funnelId)))
      .orderBy(asc(funnelNodes.createdAt), asc(funnelNodes.id)),
    db
      .select()
      .from(funnelActions)
      .where(
        and(eq(funnelActions.workspaceId, input.workspaceId), eq(funnelActions.funnelId, input.funnelId)),
      )
      .orderBy(asc(funnelActions.fromNodeId), asc(funnelActions.number)),
  ]);
  return { nodes, actions };
}

export async function setFunnelArchived(
  db: Executor,
  input: { workspaceId: string; funnelId: string; archived: boolean },
): Promise<FunnelRow | undefined> {
  const [row] = await db
    .update(funnels)
    // The version bump is what trackers watch: an archived funnel stops routing at once.
    .set({
      archivedAt: input.archived ? sql`coalesce(${funnels.archivedAt}, now())` : null,
      version: sql`${funnels.version} + 1`,
    })
    .where(and(eq(funnels.workspaceId, input.workspaceId), eq(funnels.id, input.funnelId)))
    .returning();
  return row;
}
