import {
  applyConversion,
  buildTouches,
  type ChainHit,
  type ConversionApplication,
  type ConversionRequest,
  type ConversionStatus,
  type ExistingConversion,
  normalizeMoney,
  shownRevenue,
  workspaceIdentityKey,
} from "@hitrail/core";
import type {
  ConversionPathHit,
  ConversionRevisionRow,
  ConversionStateRow,
  NewConversionRow,
  OutboundDeliveryRow,
  OutboxRow,
  ReceivedPostbackRow,
  StoredConversion,
  TouchRow,
} from "@hitrail/db";
import type { ConversionCommand, ConversionView, RecordResult } from "./types.ts";

// Row mapping for one batch, with no I/O and no decisions of its own: given what the batch's
// transaction read (the hits with their paths and settings, the stored conversions of the
// identities, all locked), it applies each request in arrival order with core's applyConversion and
// turns each answer into the rows to write and the answer to give. Requests for the same identity in
// one batch see each other's effect, exactly as if they had been committed one by one.

/** One postback whose target is resolved to a hit. */
export interface PlanItem {
  /** Id of its received_postbacks row. */
  postbackId: string;
  command: ConversionCommand;
  hitId: string;
  /** Set when the hit was found through the visitor's session. */
  visitorId: string | null;
}

export interface PlanInput {
  items: readonly PlanItem[];
  paths: readonly ConversionPathHit[];
  stored: readonly StoredConversion[];
  now: number;
  newId: () => string;
  /** Whether to write postback-log rows (default true); an import is its own log. */
  logs?: boolean;
}

export interface BatchPlan {
  inserts: NewConversionRow[];
  updates: ConversionStateRow[];
  revisions: ConversionRevisionRow[];
  touches: TouchRow[];
  deliveries: OutboundDeliveryRow[];
  /** Jobs for the outbox: none today (a delivery is its own outbox entry; rollups are swept). */
  outbox: OutboxRow[];
  logs: ReceivedPostbackRow[];
  /** One per item, same order. */
  results: RecordResult[];
}

/** The identity a request writes to, as one string across workspaces. */
export function itemIdentityKey(item: Pick<PlanItem, "command" | "hitId">): string {
  return workspaceIdentityKey(
    item.command.workspace.workspaceId,
    item.hitId,
    item.command.event?.typeId ?? null,
    item.command.tx,
  );
}

/** An identity's conversion as the batch goes: stored, or written by an earlier item of the batch. */
interface Live {
  id: string;
  seq: number;
  revenue: string;
  status: ConversionStatus;
  revision: number;
  deleted: boolean;
  /** The row this batch inserts for it, when it is new in this batch: later changes edit it in place. */
  insert: NewConversionRow | null;
  update: ConversionStateRow | null;
}

export function planBatch(input: PlanInput): BatchPlan {
  const plan: BatchPlan = {
    inserts: [],
    updates: [],
    revisions: [],
    touches: [],
    deliveries: [],
    outbox: [],
    logs: [],
    results: [],
  };
  const paths = new Map<string, ConversionPathHit[]>();
  for (const row of input.paths) {
    const key = `${row.workspaceId}|${row.rootHitId}`;
    const list = paths.get(key);
    if (list) list.push(row);
    else paths.set(key, [row]);
  }
  const live = new Map<string, Live>();
  for (const s of input.stored) {
    live.set(workspaceIdentityKey(s.workspaceId, s.hitId, s.eventKey, s.tx === "" ? null : s.tx), {
      id: s.id,
      seq: s.seq,
      revenue: normalizeMoney(s.revenue),
      status: s.status,
      revision: s.revision,
      deleted: s.deleted,
      insert: null,
      update: null,
    });
  }

  for (const item of input.items) {
    const path = paths.get(`${item.command.workspace.workspaceId}|${item.hitId}`) ?? [];
    const hit = path.find((p) => p.depth === 0) ?? null;
    const key = itemIdentityKey(item);
    const current = live.get(key) ?? null;
    const applied = applyConversion({
      request: requestOf(item.command),
      hitId: item.hitId,
      visitorId: item.visitorId,
      hit,
      existing: current === null ? null : existingOf(current),
    });
    if (applied.kind !== "change" || hit === null) {
      answer(plan, input, item, hit?.hitId ?? item.hitId, applied, current);
      continue;
    }
    const state = write(plan, input, item, path, hit, applied, current);
    live.set(key, state);
    answer(plan, input, item, hit.hitId, applied, state);
  }
  return plan;
}

/** The rows of one change: the conversion (inserted or updated), its revision, touches and jobs. */
function write(
  plan: BatchPlan,
  input: PlanInput,
  item: PlanItem,
  path: readonly ConversionPathHit[],
  hit: ConversionPathHit,
  applied: Extract<ConversionApplication, { kind: "change" }>,
  current: Live | null,
): Live {
  const { command } = item;
  const workspaceId = command.workspace.workspaceId;
  const { conversion } = applied;
  const deletedAt = conversion.deleted ? new Date(input.now) : null;
  let state: Live;
  if (applied.convertedAt !== null) {
    // A new conversion (a first one, or a repeat recorded as its own under the "new" policy).
    const id = input.newId();
    const seq = applied.action === "create_new" && current !== null ? current.seq + 1 : 0;
    const row: NewConversionRow = {
      id,
      workspaceId,
      hitId: hit.hitId,
      eventTypeId: command.event?.typeId ?? null,
      eventKey: command.event?.typeId ?? "",
      tx: command.tx ?? "",
      seq,
      revenue: conversion.revenue,
      status: conversion.status,
      revision: conversion.revision,
      visitorId: hit.visitorId,
      funnelId: hit.funnelId,
      nodeId: hit.nodeId,
      pageId: hit.pageId,
      pageKind: hit.pageKind,
      trafficSourceId: hit.trafficSourceId,
      hitAt: hit.createdAtText,
      convertedAt: new Date(applied.convertedAt),
      deletedAt,
    };
    plan.inserts.push(row);
    plan.touches.push(...touchesOf(path, hit, id, input.newId));
    state = { id, seq, ...conversion, insert: row, update: null };
  } else {
    // A change to a stored (or batch-created) conversion: its one row for this batch takes the final state.
    state = { ...(current as Live), ...conversion };
    const change = {
      revenue: conversion.revenue,
      status: conversion.status,
      revision: conversion.revision,
      deletedAt,
    };
    if (state.insert !== null) Object.assign(state.insert, change);
    else if (state.update !== null) Object.assign(state.update, change);
    else {
      state.update = { id: state.id, workspaceId, ...change };
      plan.updates.push(state.update);
    }
  }

  plan.revisions.push({
    id: input.newId(),
    workspaceId,
    conversionId: state.id,
    revision: conversion.revision,
    action: applied.outcome,
    previousRevenue: applied.previousRevenue,
    revenue: shownRevenue(conversion),
    status: conversion.status,
    statusWord: command.statusWord,
    source: command.channel,
    receivedPostbackId: item.postbackId,
    raw: rawOf(command),
    createdAt: new Date(input.now),
  });
  // No rollup job: the revision row is what the worker's conversion rollup sweep reads
  // (sweepConversionRollups), a set of them at a time.
  if (applied.postback !== null) {
    const deliveryId = input.newId();
    plan.deliveries.push({
      id: deliveryId,
      workspaceId,
      conversionId: state.id,
      revision: conversion.revision,
      trafficSourceId: applied.postback.trafficSourceId,
      event: applied.postback.event,
      url: applied.postback.url,
      unknownMacros: applied.postback.unknownMacros,
      notBefore: new Date(input.now + applied.postback.delayMs),
    });
    // No outbox row: a new delivery is its own outbox entry, which the worker's relay hands to the
    // queue as `deliver-<id>`, due at its not_before (outbound_deliveries.relayed_at).
  }
  return state;
}

/** The answer and the postback-log row of one item. */
function answer(
  plan: BatchPlan,
  input: Pick<PlanInput, "logs">,
  item: PlanItem,
  hitId: string,
  applied: ConversionApplication,
  state: Live | null,
): void {
  const { notes } = applied;
  const logs = input.logs === false ? [] : plan.logs;
  const subject = subjectOf(item);
  if (applied.kind === "refuse") {
    plan.results.push({
      ok: false,
      httpStatus: applied.httpStatus,
      outcome: "rejected",
      error: applied.error,
      notes,
      postbackId: item.postbackId,
    });
    logs.push(
      logRow(subject, {
        outcome: "rejected",
        reason: applied.error,
        httpStatus: applied.httpStatus,
        conversionId: null,
      }),
    );
    return;
  }
  if (applied.kind === "ignore") {
    plan.results.push({
      ok: true,
      httpStatus: 200,
      outcome: "ignored",
      conversion: state === null ? null : viewOf(state, hitId, item.command.tx, null),
      reason: applied.reason,
      notes,
      postbackId: item.postbackId,
    });
    logs.push(
      logRow(subject, {
        outcome: "ignored",
        reason: [applied.reason, ...notes].join("; "),
        httpStatus: 200,
        conversionId: state?.id ?? null,
      }),
    );
    return;
  }
  plan.results.push({
    ok: true,
    httpStatus: 200,
    outcome: applied.outcome,
    conversion: viewOf(state as Live, hitId, item.command.tx, applied.previousRevenue),
    reason: null,
    notes,
    postbackId: item.postbackId,
  });
  logs.push(
    logRow(subject, {
      outcome: applied.outcome,
      reason: notes.length > 0 ? notes.join("; ") : null,
      httpStatus: 200,
      conversionId: state?.id ?? null,
    }),
  );
}

function requestOf(command: ConversionCommand): ConversionRequest {
  return {
    tx: command.tx,
    revenue: command.revenue,
    rawStatus: command.rawStatus,
    disablePostbacks: command.disablePostbacks,
    conversionTime: command.conversionTime ?? null,
    event: command.event ?? null,
    ...(command.duplicatePolicy === undefined ? {} : { duplicatePolicy: command.duplicatePolicy }),
    params: command.meta.params,
    receivedAt: command.meta.receivedAt,
    currency: command.workspace.currency,
    notes: command.notes,
  };
}

function existingOf(live: Live): ExistingConversion {
  const { id, revenue, status, deleted, revision } = live;
  return { id, revenue, status, deleted, revision };
}

/** Backward attribution (core's buildTouches) along the converting hit's path: the assisted touches' rows. */
function touchesOf(
  path: readonly ConversionPathHit[],
  hit: ConversionPathHit,
  conversionId: string,
  newId: () => string,
): TouchRow[] {
  const chain: ChainHit[] = path.map((p) => ({
    hitId: p.hitId,
    prevHitId: p.prevHitId,
    nodeId: p.nodeId,
    pageId: p.pageId,
    pageKind: p.pageKind,
    funnelId: p.funnelId,
    at: p.createdAtMs,
  }));
  const hitAt = new Map(path.map((p) => [p.hitId, p.createdAtText]));
  // The direct touch is the conversion itself (its converting hit): reads derive it (listTouches),
  // so only the assisted ones are rows.
  return buildTouches(chain, hit.hitId)
    .filter((t) => t.kind === "assisted")
    .map((t) => ({
      id: newId(),
      workspaceId: hit.workspaceId,
      conversionId,
      hitId: t.hitId,
      funnelId: t.funnelId,
      nodeId: t.nodeId,
      pageId: t.pageId,
      kind: t.kind,
      position: t.position,
      hitAt: hitAt.get(t.hitId) ?? new Date(t.at).toISOString(),
    }));
}

function viewOf(
  state: Live,
  hitId: string,
  tx: string | null,
  previousRevenue: string | null,
): ConversionView {
  return {
    id: state.id,
    hit: hitId,
    tx,
    revenue: shownRevenue(state),
    status: state.status,
    revision: state.revision,
    previousRevenue,
  };
}

function rawOf(command: ConversionCommand): Record<string, unknown> {
  // An imported row's request is its parameters (with its import and line): the channel is the
  // revision's source, its time the revision's own, and every row has the same method and no IP.
  // A million rows' raw is decoded by the database as jsonb, so it carries nothing twice.
  if (command.channel === "import") return { params: command.meta.params };
  return {
    channel: command.channel,
    method: command.meta.method,
    ip: command.meta.ip,
    params: command.meta.params,
    receivedAt: new Date(command.meta.receivedAt).toISOString(),
  };
}

/** The columns of a postback-log entry that do not depend on the outcome. */
export interface LogSubject {
  postbackId: string;
  workspaceId: string;
  channel: string;
  meta: ConversionCommand["meta"];
  hitId: string | null;
  visitorId: string | null;
  tx: string | null;
  statusWord: string | null;
}

export function subjectOf(item: PlanItem): LogSubject {
  const { command } = item;
  return {
    postbackId: item.postbackId,
    workspaceId: command.workspace.workspaceId,
    channel: command.channel,
    meta: command.meta,
    hitId: item.hitId,
    visitorId: item.visitorId ?? (command.target.by === "visitor" ? command.target.visitorId : null),
    tx: command.tx,
    statusWord: command.statusWord,
  };
}

export function logRow(
  subject: LogSubject,
  outcome: Pick<ReceivedPostbackRow, "outcome" | "reason" | "httpStatus" | "conversionId">,
): ReceivedPostbackRow {
  return {
    id: subject.postbackId,
    workspaceId: subject.workspaceId,
    receivedAt: new Date(subject.meta.receivedAt),
    method: subject.meta.method,
    channel: subject.channel,
    ip: subject.meta.ip,
    params: subject.meta.params,
    hitId: subject.hitId,
    visitorId: subject.visitorId,
    tx: subject.tx,
    statusWord: subject.statusWord,
    ...outcome,
  };
}
