import {
  buildTouches,
  type ChainHit,
  type ConversionDecision,
  type ConversionStatus,
  canConvert,
  classifyStatus,
  conversionIdentity,
  conversionRevenueProblem,
  DEFAULT_DUPLICATE_POLICY,
  decideConversion,
  decideConversionTime,
  type ExistingConversion,
  normalizeMoney,
  parseConversionTime,
  REJECTED_REVENUE,
  revisionAfter,
  shouldNotifyTrafficSource,
  urlTemplateProblem,
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
import { renderOutboundPostback, trafficSourceNotify } from "./outbound.ts";
import type { ConversionCommand, ConversionOutcome, ConversionView, RecordResult } from "./types.ts";

// The middle of the write path, with no I/O: given what the batch's transaction read (the hits with
// their paths and settings, the stored conversions of the identities, all locked), it applies each
// postback in arrival order with core's decision and says which rows to write and what to answer.
// Postbacks of the same identity in one batch see each other's effect, exactly as if they had been
// committed one by one.

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
}

export interface BatchPlan {
  inserts: NewConversionRow[];
  updates: ConversionStateRow[];
  revisions: ConversionRevisionRow[];
  touches: TouchRow[];
  deliveries: OutboundDeliveryRow[];
  outbox: OutboxRow[];
  logs: ReceivedPostbackRow[];
  /** One per item, same order. */
  results: RecordResult[];
}

export const DELIVER_TOPIC = "postback.deliver";
export const ROLLUP_TOPIC = "rollup.conversion";

/** The identity a postback writes to, as one string: workspace, then core's identity key. */
export function identityKey(workspaceId: string, hitId: string, eventKey: string, tx: string | null): string {
  return `${workspaceId}|${conversionIdentity(hitId, eventKey === "" ? null : eventKey, tx).key}`;
}

export function itemIdentityKey(item: Pick<PlanItem, "command" | "hitId">): string {
  return identityKey(
    item.command.workspace.workspaceId,
    item.hitId,
    item.command.event?.typeId ?? "",
    item.command.tx,
  );
}

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
  const now = new Date(input.now);
  const paths = new Map<string, ConversionPathHit[]>();
  for (const row of input.paths) {
    const key = `${row.workspaceId}|${row.rootHitId}`;
    const list = paths.get(key);
    if (list) list.push(row);
    else paths.set(key, [row]);
  }
  const live = new Map<string, Live>();
  for (const s of input.stored) {
    live.set(identityKey(s.workspaceId, s.hitId, s.eventKey, s.tx === "" ? null : s.tx), {
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
    const { command } = item;
    const workspaceId = command.workspace.workspaceId;
    const notes = [...command.notes];
    const path = paths.get(`${workspaceId}|${item.hitId}`) ?? [];
    const hit = path.find((p) => p.depth === 0);

    const reject = (httpStatus: number, error: string): void => {
      plan.results.push({
        ok: false,
        httpStatus,
        outcome: "rejected",
        error,
        notes,
        postbackId: item.postbackId,
      });
      plan.logs.push(
        logRow(subjectOf(item), { outcome: "rejected", reason: error, httpStatus, conversionId: null }),
      );
    };

    if (hit === undefined) {
      if (item.visitorId !== null) {
        // The session names this hit, so it exists: it is still in the outage spool.
        reject(503, `hit ${item.hitId} of visitor ${item.visitorId} is not stored yet; retry shortly`);
      } else {
        reject(404, `hit not found: ${item.hitId} is not a hit of this workspace`);
      }
      continue;
    }
    if (!canConvert(hit.pageKind)) {
      reject(
        422,
        `hit ${hit.hitId} is a visit to ${describeKind(hit.pageKind)}; only lander and offer hits convert`,
      );
      continue;
    }

    // The offer source may speak its own status words; the seed's words hold unless it overrides them.
    // A source that names its words is strict: a word neither it nor the seed knows is refused (400,
    // with the known list) rather than counted as a sale. Without a map the seed rule stands: any
    // other word is a normal conversion.
    let status = command.status;
    // A network that sends its status in a parameter of its own (`goal_status`, `st`…): read it
    // when `status` itself was not sent.
    let rawStatus = command.rawStatus;
    if (rawStatus === null && hit.statusParam !== null && hit.statusParam !== "status") {
      const sent = command.meta.params[hit.statusParam];
      if (typeof sent === "string" && sent.trim() !== "") {
        rawStatus = sent.trim().slice(0, 64);
        const seedOnly = classifyStatus(rawStatus);
        if (seedOnly.kind === "ok") status = seedOnly.status;
      }
    }
    if (hit.statusMap !== null && rawStatus !== null) {
      const classified = classifyStatus(rawStatus, { words: hit.statusMap, strict: true });
      if (classified.kind === "unknown") {
        reject(
          400,
          `unknown status word '${classified.word}'; this offer source knows: ${classified.known.join(", ")}`,
        );
        continue;
      }
      status = classified.status;
    }

    const event = command.event ?? null;
    const eventKey = event?.typeId ?? "";
    const key = identityKey(workspaceId, hit.hitId, eventKey, command.tx);
    const current = live.get(key) ?? null;
    const existing: ExistingConversion | null =
      current === null
        ? null
        : {
            id: current.id,
            revenue: current.revenue,
            status: current.status,
            deleted: current.deleted,
            revision: current.revision,
          };
    let defaultPayout = event?.defaultRevenue ?? hit.defaultPayout;
    if (defaultPayout === null) {
      defaultPayout = "0";
      if (command.revenue.kind === "absent")
        notes.push(`page ${hit.pageId ?? "?"} no longer exists: default payout 0`);
    }
    const policy =
      command.duplicatePolicy ?? event?.duplicatePolicy ?? hit.duplicatePolicy ?? DEFAULT_DUPLICATE_POLICY;
    let revenue = command.revenue;
    if (event !== null && !event.hasRevenue && revenue.kind === "value") {
      notes.push(`event '${event.alias}' carries no revenue: ${revenue.value} not recorded`);
      revenue = { kind: "absent" };
    }
    const decision = decideConversion({ existing, status, revenue, defaultPayout, policy });
    // A repeat handled by anything but the seed's default says which rule applied (the default's
    // outcome, "updated", says it by itself).
    if (existing !== null && policy !== DEFAULT_DUPLICATE_POLICY && decision.action !== "delete") {
      const what = {
        ignore: "repeats are ignored",
        add: "repeats add to the revenue",
        new: "repeats count as new conversions",
        update: "",
      }[policy];
      notes.push(`duplicate policy '${policy}': ${what}`);
    }

    // The bound holds for what the decision makes of the request too: a summed repeat ("add") or a
    // default payout stored before the bound existed.
    const revenueProblem =
      "revenue" in decision ? conversionRevenueProblem(decision.revenue, "revenue") : null;
    if (revenueProblem !== null) {
      reject(400, revenueProblem);
      continue;
    }

    if (decision.action === "ignore") {
      const view = current === null ? null : viewOf(current, hit.hitId, command.tx, null);
      plan.results.push({
        ok: true,
        httpStatus: 200,
        outcome: "ignored",
        conversion: view,
        reason: decision.reason,
        notes,
        postbackId: item.postbackId,
      });
      plan.logs.push(
        logRow(subjectOf(item), {
          outcome: "ignored",
          reason: [decision.reason, ...notes].join("; "),
          httpStatus: 200,
          conversionId: current?.id ?? null,
        }),
      );
      continue;
    }

    const revision = revisionAfter(decision, existing);
    let state: Live;
    let outcome: ConversionOutcome;
    let previousRevenue: string | null = null;

    if (decision.action === "create" || decision.action === "create_new") {
      outcome = "created";
      // An update keeps the time the conversion first happened; only a new one takes `ts`.
      // `ts`, else the offer source's own time parameter, if it names one.
      let requested = command.conversionTime ?? null;
      if (requested === null && hit.conversionTimeParam !== null) {
        const sent = parseConversionTime(command.meta.params[hit.conversionTimeParam]);
        if (sent.kind === "value") requested = sent.at;
        else if (sent.kind === "invalid")
          notes.push(
            `${hit.conversionTimeParam}: ${sent.reason.replace(/^ts /, "")}; the time it was received is used`,
          );
      }
      const convertedAt = decideConversionTime({
        requested,
        receivedAt: command.meta.receivedAt,
        hitAt: hit.createdAtMs,
      });
      if (convertedAt.note !== null) notes.push(convertedAt.note);
      const seq = decision.action === "create_new" && current !== null ? current.seq + 1 : 0;
      const id = input.newId();
      const row: NewConversionRow = {
        id,
        workspaceId,
        hitId: hit.hitId,
        eventTypeId: event?.typeId ?? null,
        eventKey,
        tx: command.tx ?? "",
        seq,
        revenue: decision.revenue,
        status: decision.status,
        revision,
        visitorId: hit.visitorId,
        funnelId: hit.funnelId,
        nodeId: hit.nodeId,
        pageId: hit.pageId,
        pageKind: hit.pageKind,
        trafficSourceId: hit.trafficSourceId,
        hitAt: hit.createdAtText,
        convertedAt: new Date(convertedAt.at),
        deletedAt: null,
      };
      plan.inserts.push(row);
      state = {
        id,
        seq,
        revenue: decision.revenue,
        status: decision.status,
        revision,
        deleted: false,
        insert: row,
        update: null,
      };
      live.set(key, state);
      plan.touches.push(...touchesFor(path, hit, id, input.newId));
    } else {
      // update, restore or delete: there is a stored (or batch-created) conversion.
      state = current as Live;
      // The audit chain reads old → new: a deleted conversion stood at -1 (the seed's rejection value).
      previousRevenue = state.deleted ? REJECTED_REVENUE : state.revenue;
      state.revision = revision;
      if (decision.action === "delete") {
        outcome = "deleted";
        state.deleted = true;
        state.status = "rejected";
      } else {
        outcome = decision.action === "restore" ? "restored" : "updated";
        state.deleted = false;
        state.revenue = decision.revenue;
        state.status = decision.status;
      }
      const deletedAt = state.deleted ? now : null;
      if (state.insert !== null) {
        Object.assign(state.insert, { revenue: state.revenue, status: state.status, revision, deletedAt });
      } else if (state.update !== null) {
        Object.assign(state.update, { revenue: state.revenue, status: state.status, revision, deletedAt });
      } else {
        state.update = {
          id: state.id,
          workspaceId,
          revenue: state.revenue,
          status: state.status,
          revision,
          deletedAt,
        };
        plan.updates.push(state.update);
      }
    }

    const view = viewOf(state, hit.hitId, command.tx, previousRevenue);
    plan.revisions.push({
      id: input.newId(),
      workspaceId,
      conversionId: state.id,
      revision,
      action: outcome as "created" | "updated" | "deleted" | "restored",
      previousRevenue,
      revenue: view.revenue,
      status: view.status,
      statusWord: command.statusWord,
      source: command.channel,
      receivedPostbackId: item.postbackId,
      raw: rawOf(command),
      createdAt: now,
    });
    plan.outbox.push({
      id: input.newId(),
      workspaceId,
      topic: ROLLUP_TOPIC,
      jobId: `rollup-${state.id}-${revision}`,
      payload: { workspaceId, conversionId: state.id, revision },
      delayMs: 0,
    });
    const withheld = notify(plan, input, item, hit, decision, state.id, view);
    if (withheld !== null) notes.push(withheld);

    plan.results.push({
      ok: true,
      httpStatus: 200,
      outcome,
      conversion: view,
      reason: null,
      notes,
      postbackId: item.postbackId,
    });
    plan.logs.push(
      logRow(subjectOf(item), {
        outcome,
        reason: notes.length > 0 ? notes.join("; ") : null,
        httpStatus: 200,
        conversionId: state.id,
      }),
    );
  }
  return plan;
}

function notify(
  plan: BatchPlan,
  input: PlanInput,
  item: PlanItem,
  hit: ConversionPathHit,
  decision: ConversionDecision,
  conversionId: string,
  view: ConversionView,
): string | null {
  const { command } = item;
  const source = trafficSourceNotify({
    postbackUrl: hit.trafficSourcePostbackUrl,
    postbackOnUpdate: hit.postbackOnUpdate,
    postbackOnReject: hit.postbackOnReject,
  });
  const fire = shouldNotifyTrafficSource({
    decision,
    disablePostbacks: command.disablePostbacks,
    source,
    ...(command.event ? { eventFiresPostback: command.event.firesPostback } : {}),
  });
  if (!fire || hit.trafficSourceId === null || hit.trafficSourcePostbackUrl === null) return null;
  // A template stored before the api refused tokens in the host must not let a click's values
  // choose where the postback goes.
  const problem = urlTemplateProblem(hit.trafficSourcePostbackUrl.trim());
  if (problem !== null) return `traffic-source postback not sent: its URL template ${problem}`;
  const workspaceId = command.workspace.workspaceId;
  const delaySeconds = Math.max(0, hit.postbackDelaySeconds ?? 0);
  const event = command.event?.alias ?? "conversion";
  const { url, unknownMacros } = renderOutboundPostback(
    hit.trafficSourcePostbackUrl,
    hit,
    { revenue: view.revenue, status: view.status, tx: command.tx, event },
    command.workspace.currency,
  );
  const deliveryId = input.newId();
  plan.deliveries.push({
    id: deliveryId,
    workspaceId,
    conversionId,
    revision: view.revision,
    trafficSourceId: hit.trafficSourceId,
    event,
    url,
    unknownMacros,
    notBefore: new Date(input.now + delaySeconds * 1000),
  });
  plan.outbox.push({
    id: input.newId(),
    workspaceId,
    topic: DELIVER_TOPIC,
    jobId: `deliver-${deliveryId}`,
    payload: { workspaceId, deliveryId },
    delayMs: delaySeconds * 1000,
  });
  return null;
}

function touchesFor(
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
  return buildTouches(chain, hit.hitId).map((t) => ({
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
    revenue: state.deleted ? REJECTED_REVENUE : state.revenue,
    status: state.status,
    revision: state.revision,
    previousRevenue,
  };
}

function rawOf(command: ConversionCommand): Record<string, unknown> {
  return {
    channel: command.channel,
    method: command.meta.method,
    ip: command.meta.ip,
    params: command.meta.params,
    receivedAt: new Date(command.meta.receivedAt).toISOString(),
  };
}

function describeKind(kind: ConversionPathHit["pageKind"]): string {
  return kind === "external" ? "an external URL node" : "a traffic entry, rotator or condition node";
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
