import {
  type ConversionIdentityRef,
  type DbClient,
  openConversionBatch,
  type ReceivedPostbackRow,
} from "@hitrail/db";
import { type BatchPlan, type PlanItem, planBatch } from "./plan.ts";
import type { RecordResult } from "./types.ts";

export interface CommitBatchInput {
  /** Requests whose converting hit is named, in arrival order. */
  items: readonly PlanItem[];
  /** Log entries of requests refused earlier, written in the same commit. */
  logs?: readonly ReceivedPostbackRow[];
  /** A replay of spooled requests: those whose log row is already committed are skipped. */
  replay?: boolean;
  now: () => number;
  newId: () => string;
}

export interface CommitBatchResult {
  /** One per item, same order; null for an item a replay found already recorded. */
  results: Array<RecordResult | null>;
  /** Postback ids a replay found already recorded. */
  recorded: Set<string>;
}

/**
 * One group-commit batch of conversions, top to bottom, in ONE transaction of two round trips:
 *  1. the database locks the identities and reads the converting hits (with their paths and
 *     settings) and the identities' stored conversions;
 *  2. core decides each request in arrival order, and planBatch maps the decisions to rows;
 *  3. the database writes every row in one statement and commits.
 * Whatever is answered is committed when this resolves.
 */
export async function commitConversionBatch(
  db: Pick<DbClient, "sql">,
  input: CommitBatchInput,
): Promise<CommitBatchResult> {
  const { items, logs = [] } = input;
  const batch = await openConversionBatch(db, {
    identities: items.map(identityOf),
    workspaceIds: logs.map((l) => l.workspaceId),
    ...(input.replay
      ? {
          replayed: items.map((i) => ({ id: i.postbackId, receivedAt: new Date(i.command.meta.receivedAt) })),
        }
      : {}),
  });
  const { paths, stored, alreadyRecorded: recorded } = batch.read;
  let plan: BatchPlan;
  try {
    const fresh = recorded.size === 0 ? items : items.filter((i) => !recorded.has(i.postbackId));
    plan = planBatch({ items: fresh, paths, stored, now: input.now(), newId: input.newId });
  } catch (error) {
    await batch.rollback();
    throw error;
  }
  await batch.commit({
    inserts: plan.inserts,
    updates: plan.updates,
    revisions: plan.revisions,
    touches: plan.touches,
    deliveries: plan.deliveries,
    outbox: plan.outbox,
    postbacks: [...plan.logs, ...logs],
  });
  let next = 0;
  const results = items.map((i) => (recorded.has(i.postbackId) ? null : (plan.results[next++] ?? null)));
  return { results, recorded };
}

/** The identity an item locks: '' stands for "no event" and "no tx" in the stored key. */
function identityOf(item: PlanItem): ConversionIdentityRef {
  return {
    workspaceId: item.command.workspace.workspaceId,
    hitId: item.hitId,
    eventKey: item.command.event?.typeId ?? "",
    tx: item.command.tx ?? "",
  };
}
