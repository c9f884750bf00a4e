import { hash } from "node:crypto";
import {
  type ConversionStatus,
  parsePostback,
  pickVisitorHit,
  type SessionHitRef,
  type VisitorSession,
} from "@hitrail/core";
import {
  type DbClient,
  findConversionsByIdentity,
  findHitsByExternalIds,
  findHitsByVisitors,
  findImportedRows,
  type ImportCandidateHit,
  type ImportChunkWrite,
  type ImportMapping,
  type ImportOptions,
  isUuid,
  listImportEventTypes,
  loadConversionPaths,
  newId,
  openImportChunk,
  withWorkspace,
} from "@hitrail/db";
import { type BatchPlan, type PlanItem, planBatch } from "../plan.ts";
import type { ConversionCommand, ConversionEventRef, RecordResult } from "../types.ts";
import { mapRow } from "./mapping.ts";
import type { ImportRow } from "./sources.ts";

// A conversion import applies each row through the postback's own rules: the row becomes the
// parameters of a postback (hit, tx, rev, status, ts, e), core's parsePostback validates them, and
// the batch planner decides with the same locks, reads and single-statement write as the tracker's
// group commit. What is different is only how a row finds its hit (a click id, or a visitor's hits
// in the database rather than the 4-day session) and what is kept: the import's ledger instead of the
// postback log, and one rollup rebuild at the end instead of a rollup job per conversion.

export type RowOutcome = "create" | "update" | "delete" | "unchanged" | "refuse";

export interface RowVerdict {
  line: number;
  outcome: RowOutcome;
  /** Why it was refused or left unchanged, and notes worth reading. */
  reason: string | null;
  hitId: string | null;
  /** The revenue the conversion ends with (-1 when deleted), when one was written. */
  revenue: string | null;
  status: ConversionStatus | null;
  values: Record<string, string>;
}

export interface ImportCounts {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  refused: number;
}

export interface ImportWorkspace {
  workspaceId: string;
  currency: string;
  sessionTtlSeconds: number;
}

export interface ImportSetup {
  /** `sql` (a raw connection pool) is needed to apply rows; a preview reads through `db` alone. */
  client: Pick<DbClient, "db"> & Partial<Pick<DbClient, "sql">>;
  workspace: ImportWorkspace;
  mapping: ImportMapping;
  options: ImportOptions;
  now?: () => number;
  makeId?: () => string;
}

/** The rows of one batch as far as they go before the conversion rules: refused, unchanged, or a plan item. */
export interface PreparedBatch {
  rows: readonly ImportRow[];
  verdicts: Array<RowVerdict | null>;
  items: Array<{ index: number; item: PlanItem; hash: string; hitAt: number | null }>;
  /** Rows that repeat an earlier row of the same batch: they share its fate unless it applied. */
  repeats: Array<{ index: number; of: number }>;
  /**
   * Rows that repeat a row of the previous batch, prepared while that batch was still committing
   * (its ledger rows not yet readable): they share its fate, known once it has committed.
   */
  carried: Array<{ index: number; hash: string; hitId: string }>;
  /** Once committed: the verdict of each item, by row hash, for the batch after it. */
  outcomes: Map<string, RowVerdict> | null;
}
type Prepared = PreparedBatch;

export class ImportEngine {
  private events: Map<string, ConversionEventRef> | null = null;
  private readonly now: () => number;
  private readonly makeId: () => string;

  constructor(private readonly setup: ImportSetup) {
    this.now = setup.now ?? Date.now;
    this.makeId = setup.makeId ?? newId;
  }

  private get workspaceId(): string {
    return this.setup.workspace.workspaceId;
  }

  private async eventTypes(): Promise<Map<string, ConversionEventRef>> {
    if (this.events !== null) return this.events;
    const rows = await withWorkspace(this.setup.client.db, this.workspaceId, (tx) =>
      listImportEventTypes(tx, { workspaceId: this.workspaceId }),
    );
    this.events = new Map(
      rows.map((r) => [
        r.alias.toLowerCase(),
        {
          typeId: r.id,
          alias: r.alias,
          defaultRevenue: r.hasRevenue ? r.defaultRevenue : "0",
          hasRevenue: r.hasRevenue,
          firesPostback: r.firesPostback,
          duplicatePolicy: r.duplicatePolicy,
        },
      ]),
    );
    return this.events;
  }

  /**
   * Resolves, validates and dedupes one batch of rows; nothing is written. `previous` is the batch
   * committing meanwhile, if any: a row repeating one of its rows waits for its outcome.
   */
  async prepare(rows: readonly ImportRow[], importId: string | null, previous?: Prepared): Promise<Prepared> {
    const ws = this.workspaceId;
    const mapped = rows.map((r) => mapRow(r.values, this.setup.mapping));
    const verdicts: Array<RowVerdict | null> = rows.map(() => null);
    const refuse = (i: number, reason: string) => {
      const row = rows[i] as ImportRow;
      verdicts[i] = {
        line: row.line,
        outcome: "refuse",
        reason,
        hitId: null,
        revenue: null,
        status: null,
        values: row.values,
      };
    };

    // Find the visits the rows name by click id or visitor, in two queries for the whole batch.
    const externals = new Set<string>();
    const visitors = new Set<string>();
    mapped.forEach((m, i) => {
      if (m.hit !== undefined) return;
      if (m.external !== undefined) externals.add(m.external);
      else if (m.vid !== undefined) {
        if (isUuid(m.vid)) visitors.add(m.vid.toLowerCase());
        else refuse(i, `vid '${m.vid.slice(0, 64)}' is not a visitor ID`);
      } else refuse(i, "the row names no hit ID, external click ID or visitor ID");
    });
    const none = new Map<string, ImportCandidateHit[]>();
    const [byExternal, byVisitor] =
      externals.size === 0 && visitors.size === 0
        ? [none, none]
        : await withWorkspace(this.setup.client.db, ws, async (tx) => [
            group(await findHitsByExternalIds(tx, { workspaceId: ws, externalIds: [...externals] })),
            group(await findHitsByVisitors(tx, { workspaceId: ws, visitorIds: [...visitors] })),
          ]);
    const events = await this.eventTypes();

    const params: Array<Record<string, string> | null> = mapped.map(() => null);
    // Most rows get no note of their own: an array only for those that do.
    const notes: Array<string[] | undefined> = [];
    mapped.forEach((m, i) => {
      if (verdicts[i] !== null) return;
      const p: Record<string, string> = { ...m };
      delete p.external;
      if (m.hit === undefined) {
        const candidates =
          m.external !== undefined ? byExternal.get(m.external) : byVisitor.get((m.vid ?? "").toLowerCase());
        const what = m.external !== undefined ? `click ID '${m.external.slice(0, 64)}'` : `visitor ${m.vid}`;
        if (candidates === undefined) {
          refuse(
            i,
            m.external !== undefined
              ? `unknown external click ID '${m.external.slice(0, 64)}': no lander or offer visit carries it`
              : `unknown visitor ${m.vid}: no lander or offer visit of this visitor`,
          );
          return;
        }
        const visitorIds = new Set(candidates.map((c) => c.visitorId));
        if (visitorIds.size > 1) {
          refuse(i, `${what} belongs to ${visitorIds.size} visitors; convert these rows by hit ID`);
          return;
        }
        const pageId = m.p !== undefined && isUuid(m.p) ? m.p : null;
        if (m.p !== undefined && pageId === null) {
          refuse(i, `p '${m.p.slice(0, 64)}' is not a page ID`);
          return;
        }
        // The seed's visitor rule, over the visits in the database: with p, the latest hit on that
        // page; without, the latest offer hit.
        const picked = pickVisitorHit(sessionOf(candidates), pageId);
        if (!picked.ok) {
          refuse(i, `no hit to convert: ${picked.reason.replace(/^visitor [0-9a-f-]+/, what)}`);
          return;
        }
        notes[i] = [`${what}: converting hit ${picked.hit.hitId}`];
        p.hit = picked.hit.hitId;
        delete p.vid;
        delete p.p;
      }
      params[i] = p;
    });

    const prepared: Prepared = { rows, verdicts, items: [], repeats: [], carried: [], outcomes: null };
    const inFlight = new Set(previous?.items.map((p) => p.hash) ?? []);
    const hashes: Array<string | null> = rows.map(() => null);
    const commands: Array<{ command: ConversionCommand; hitId: string } | null> = rows.map(() => null);
    const receivedAt = this.now();
    params.forEach((p, i) => {
      if (p === null) return;
      const parsed = parsePostback(p);
      if (!parsed.ok) {
        refuse(i, parsed.field === undefined ? parsed.reason : withLabel(parsed.field, parsed.reason));
        return;
      }
      const req = parsed.request;
      if (req.target.by !== "hit") {
        refuse(i, "the row names no hit");
        return;
      }
      let event: ConversionEventRef | null = null;
      if (req.eventAlias !== null) {
        event = events.get(req.eventAlias.toLowerCase()) ?? null;
        if (event === null) {
          refuse(i, `Custom event alias: no custom event '${req.eventAlias}' in this workspace`);
          return;
        }
      }
      const m = mapped[i] as Record<string, string>;
      // What the row says, normalized: the same row written differently ("12.5" / "12.50") is the same row.
      // One-shot: no Hash object per row (a million of them for a million rows).
      hashes[i] = hash(
        "sha256",
        JSON.stringify([
          m.hit?.toLowerCase() ?? null,
          m.external ?? null,
          m.vid?.toLowerCase() ?? null,
          m.p?.toLowerCase() ?? null,
          req.tx,
          req.revenue.kind === "value" ? req.revenue.value : null,
          req.rawStatus?.toLowerCase() ?? null,
          req.conversionTime,
          event?.typeId ?? null,
        ]),
        "hex",
      ).slice(0, 32);
      const row = rows[i] as ImportRow;
      // The row's own copy of its parameters (parsed above, kept by nothing else) becomes its request.
      if (importId !== null) p.import = importId;
      p.line = String(row.line);
      commands[i] = {
        hitId: req.target.hitId.toLowerCase(),
        command: {
          workspace: this.setup.workspace,
          channel: "import",
          target: req.target,
          tx: req.tx,
          revenue: req.revenue,
          statusWord: req.statusWord,
          rawStatus: req.rawStatus,
          disablePostbacks: !this.setup.options.postbacks,
          conversionTime: req.conversionTime,
          event,
          notes: notes[i] === undefined ? req.notes : [...notes[i], ...req.notes],
          meta: {
            method: "IMPORT",
            ip: null,
            params: p,
            receivedAt,
          },
        },
      };
    });

    const known = await withWorkspace(this.setup.client.db, ws, (tx) =>
      findImportedRows(tx, {
        workspaceId: ws,
        hashes: [...new Set(hashes.filter((h): h is string => h !== null))],
      }),
    );
    const firstInBatch = new Map<string, number>();
    commands.forEach((c, i) => {
      const hash = hashes[i];
      if (c === null || hash === null || hash === undefined) return;
      const row = rows[i] as ImportRow;
      if (inFlight.has(hash)) {
        prepared.carried.push({ index: i, hash, hitId: c.hitId });
        return;
      }
      const earlier = known.get(hash);
      if (earlier !== undefined) {
        verdicts[i] = {
          line: row.line,
          outcome: "unchanged",
          reason:
            earlier.importId === importId
              ? `same as line ${earlier.line}, already applied`
              : `already imported (import ${earlier.importId}, line ${earlier.line})`,
          hitId: c.hitId,
          revenue: null,
          status: null,
          values: row.values,
        };
        return;
      }
      const first = firstInBatch.get(hash);
      if (first !== undefined) {
        prepared.repeats.push({ index: i, of: first });
        return;
      }
      firstInBatch.set(hash, i);
      prepared.items.push({
        index: i,
        hash,
        hitAt: null,
        item: { postbackId: this.makeId(), command: c.command, hitId: c.hitId, visitorId: null },
      });
    });
    return prepared;
  }

  /** What the rules make of these items, given what the database holds: the plan, tidied for imports. */
  private decide(
    items: Prepared["items"],
    read: {
      paths: Parameters<typeof planBatch>[0]["paths"];
      stored: Parameters<typeof planBatch>[0]["stored"];
    },
  ): BatchPlan {
    const plan = planBatch({
      items: items.map((p) => p.item),
      paths: read.paths,
      stored: read.stored,
      now: this.now(),
      newId: this.makeId,
      // The import is its own log (no postback log rows), and each batch settles its own rollups.
      logs: false,
    });
    // The earliest visit each converting hit's path reaches: every hour its conversion credits.
    const earliest = new Map<string, number>();
    for (const p of read.paths)
      earliest.set(p.rootHitId, Math.min(earliest.get(p.rootHitId) ?? p.createdAtMs, p.createdAtMs));
    for (const p of items) p.hitAt = earliest.get(p.item.hitId) ?? null;
    for (const r of plan.revisions) r.receivedPostbackId = null;
    return plan;
  }

  /** The verdict of each row of `lane`, written into `out` (rows of other lanes are left alone). */
  private laneVerdicts(
    prepared: Prepared,
    lane: Lane,
    results: readonly RecordResult[],
    out: Array<RowVerdict | null>,
    previous?: Prepared,
  ): void {
    const { rows } = prepared;
    for (const index of lane.settled) out[index] = prepared.verdicts[index] ?? null;
    for (const { index, hash } of lane.carried) {
      const row = rows[index] as ImportRow;
      const first = previous?.outcomes?.get(hash);
      out[index] =
        first === undefined
          ? refused(row, "not recorded")
          : first.outcome === "refuse"
            ? { ...first, line: row.line, values: row.values }
            : {
                line: row.line,
                outcome: "unchanged",
                reason: `same as line ${first.line}, already applied`,
                hitId: first.hitId,
                revenue: null,
                status: null,
                values: row.values,
              };
    }
    lane.items.forEach((p, n) => {
      const r = results[n];
      const row = rows[p.index] as ImportRow;
      out[p.index] = r === undefined ? refused(row, "not recorded") : verdictOf(row, p.item.hitId, r);
    });
    for (const { index, of } of lane.repeats) {
      const row = rows[index] as ImportRow;
      const first = out[of] as RowVerdict;
      const firstLine = (rows[of] as ImportRow).line;
      out[index] =
        first.outcome === "refuse"
          ? { ...first, line: row.line, values: row.values, reason: first.reason }
          : {
              line: row.line,
              outcome: "unchanged",
              reason: `same as line ${firstLine}`,
              hitId: first.hitId,
              revenue: null,
              status: null,
              values: row.values,
            };
    }
  }

  /** What each row would do, with nothing written: the preview before an import runs. */
  async preview(rows: readonly ImportRow[]): Promise<RowVerdict[]> {
    const prepared = await this.prepare(rows, null);
    const [lane] = splitLanes(prepared, 1) as [Lane];
    const identities = identitiesOf(this.workspaceId, lane.items);
    const read = await withWorkspace(this.setup.client.db, this.workspaceId, async (tx) => ({
      paths: await loadConversionPaths(tx, {
        hits: identities.map((i) => ({ workspaceId: i.workspaceId, hitId: i.hitId })),
      }),
      stored: await findConversionsByIdentity(tx, { identities }),
    }));
    const plan = this.decide(lane.items, read);
    const out: Array<RowVerdict | null> = rows.map(() => null);
    this.laneVerdicts(prepared, lane, plan.results, out);
    return out as RowVerdict[];
  }

  /**
   * Commits one step of an import: its rows split into `lanes` by converting hit (every row of one hit
   * in one lane, in file order), each lane one batch in its own transaction, side by side. A lane's
   * batch holds its conversions, ledger rows, refused rows and its own progress row, all or none.
   * `positions` are the step's rows' places in the file (1-based), `previous` the step committed
   * just before, which this one may have been prepared beside.
   */
  async commitStep(
    importId: string,
    prepared: Prepared,
    positions: readonly number[],
    lanes: number,
    previous?: Prepared,
    beforeLaneCommit?: () => void | Promise<void>,
  ): Promise<{ verdicts: RowVerdict[]; counts: ImportCounts }> {
    const { sql } = this.setup.client;
    if (sql === undefined) throw new Error("an import needs a database client with a connection pool");
    const out: Array<RowVerdict | null> = prepared.rows.map(() => null);
    const settled = await Promise.allSettled(
      splitLanes(prepared, lanes)
        .filter((lane) => lane.indices.length > 0)
        .map((lane) =>
          this.commitLane(importId, prepared, lane, positions, out, { sql }, previous, beforeLaneCommit),
        ),
    );
    // Every lane has ended (committed or not) before the step's failure is reported.
    const failed = settled.find((r) => r.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    const verdicts = out as RowVerdict[];
    prepared.outcomes = new Map(prepared.items.map((p) => [p.hash, verdicts[p.index] as RowVerdict]));
    return { verdicts, counts: countVerdicts(verdicts) };
  }

  private async commitLane(
    importId: string,
    prepared: Prepared,
    lane: Lane,
    positions: readonly number[],
    out: Array<RowVerdict | null>,
    client: Pick<DbClient, "sql">,
    previous?: Prepared,
    beforeCommit?: () => void | Promise<void>,
  ): Promise<void> {
    const { rows } = prepared;
    const identities = identitiesOf(this.workspaceId, lane.items);
    const chunk = await openImportChunk(client, { workspaceId: this.workspaceId, identities });
    let write: ImportChunkWrite;
    try {
      const plan = this.decide(lane.items, chunk.read);
      this.laneVerdicts(prepared, lane, plan.results, out, previous);
      const verdicts = lane.indices.map((i) => out[i] as RowVerdict);
      let minHitAt: number | null = null;
      const ledger: Array<{ hash: string; line: number }> = [];
      lane.items.forEach((p, n) => {
        if (plan.results[n]?.ok !== true) return;
        ledger.push({ hash: p.hash, line: (rows[p.index] as ImportRow).line });
        if (p.hitAt !== null) minHitAt = Math.min(minHitAt ?? p.hitAt, p.hitAt);
      });
      write = {
        inserts: plan.inserts,
        updates: plan.updates,
        revisions: plan.revisions,
        touches: plan.touches,
        deliveries: plan.deliveries,
        outbox: plan.outbox,
        progress: {
          workspaceId: this.workspaceId,
          importId,
          positions: lane.indices.map((i) => positions[i] as number),
          ...countVerdicts(verdicts),
          minHitAt: minHitAt === null ? null : new Date(minHitAt),
          ledger,
          refusals: verdicts
            .filter((v) => v.outcome === "refuse")
            .map((v) => ({ line: v.line, reason: v.reason ?? "refused", raw: v.values })),
        },
      };
      await beforeCommit?.();
    } catch (error) {
      await chunk.rollback();
      throw error;
    }
    await chunk.commit(write);
  }
}

/** One lane of a step: the rows of the hits routed to it. */
interface Lane {
  /** Every row of the lane, ascending (its progress row lists their positions). */
  indices: number[];
  items: Prepared["items"];
  repeats: Prepared["repeats"];
  carried: Prepared["carried"];
  /** Rows whose verdict was known before the rules ran (refused, or already imported). */
  settled: number[];
}

/** FNV-1a of the hit id: the lane of every row converting that hit, whatever else the row says. */
export function importLaneOf(hitId: string, lanes: number): number {
  if (lanes === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < hitId.length; i++) h = Math.imul(h ^ hitId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % lanes;
}

/**
 * Splits a step into lanes by converting hit: a conversion's identity (hit, event, tx) is always in
 * one lane, so the lanes' batches lock, read and write disjoint conversions and each applies its
 * hits' rows in file order, as one batch after another would. A repeat follows the row it repeats
 * (same hash, same hit); a row with its verdict already known goes to any lane (by its place).
 */
export function splitLanes(prepared: Prepared, lanes: number): Lane[] {
  const out: Lane[] = Array.from({ length: lanes }, () => ({
    indices: [],
    items: [],
    repeats: [],
    carried: [],
    settled: [],
  }));
  const laneOfIndex = new Map<number, number>();
  for (const p of prepared.items) {
    const n = importLaneOf(p.item.hitId, lanes);
    laneOfIndex.set(p.index, n);
    (out[n] as Lane).items.push(p);
  }
  for (const r of prepared.repeats) {
    const n = laneOfIndex.get(r.of) ?? 0;
    laneOfIndex.set(r.index, n);
    (out[n] as Lane).repeats.push(r);
  }
  for (const c of prepared.carried) {
    const n = importLaneOf(c.hitId, lanes);
    laneOfIndex.set(c.index, n);
    (out[n] as Lane).carried.push(c);
  }
  prepared.verdicts.forEach((v, i) => {
    if (v === null) return;
    const n = i % lanes;
    laneOfIndex.set(i, n);
    (out[n] as Lane).settled.push(i);
  });
  for (let i = 0; i < prepared.rows.length; i++) (out[laneOfIndex.get(i) ?? 0] as Lane).indices.push(i);
  return out;
}

function identitiesOf(workspaceId: string, items: Prepared["items"]) {
  return items.map((p) => ({
    workspaceId,
    hitId: p.item.hitId,
    eventKey: p.item.command.event?.typeId ?? "",
    tx: p.item.command.tx ?? "",
  }));
}

export function emptyCounts(): ImportCounts {
  return { created: 0, updated: 0, deleted: 0, unchanged: 0, refused: 0 };
}

export function countVerdicts(verdicts: readonly RowVerdict[]): ImportCounts {
  const c = emptyCounts();
  for (const v of verdicts) {
    if (v.outcome === "create") c.created++;
    else if (v.outcome === "update") c.updated++;
    else if (v.outcome === "delete") c.deleted++;
    else if (v.outcome === "unchanged") c.unchanged++;
    else c.refused++;
  }
  return c;
}

function refused(row: ImportRow, reason: string): RowVerdict {
  return {
    line: row.line,
    outcome: "refuse",
    reason,
    hitId: null,
    revenue: null,
    status: null,
    values: row.values,
  };
}

function verdictOf(row: ImportRow, hitId: string, r: RecordResult): RowVerdict {
  if (!r.ok) return { ...refused(row, r.error), hitId };
  const notes = r.notes.length > 0 ? r.notes.join("; ") : null;
  const base = {
    line: row.line,
    hitId,
    values: row.values,
    revenue: r.conversion?.revenue ?? null,
    status: r.conversion?.status ?? null,
  };
  switch (r.outcome) {
    case "created":
      return { ...base, outcome: "create", reason: notes };
    case "updated":
    case "restored":
      return { ...base, outcome: "update", reason: notes };
    case "deleted":
      return { ...base, outcome: "delete", reason: notes };
    case "ignored":
      return {
        ...base,
        outcome: "unchanged",
        reason: [r.reason, notes].filter((x) => x !== null).join("; ") || null,
      };
    default:
      return { ...refused(row, "not recorded"), hitId };
  }
}

/** Field names in reasons as the dashboard labels them. */
const LABELS: Record<string, string> = {
  hit: "Hit ID",
  vid: "Visitor ID",
  p: "Page ID",
  tx: "Transaction ID",
  rev: "Revenue",
  status: "Status",
  ts: "Conversion time",
  e: "Custom event alias",
};

function withLabel(field: string, reason: string): string {
  const label = LABELS[field];
  return label === undefined ? reason : `${label}: ${reason}`;
}

function group(hits: readonly ImportCandidateHit[]): Map<string, ImportCandidateHit[]> {
  const out = new Map<string, ImportCandidateHit[]>();
  for (const h of hits) {
    const list = out.get(h.key);
    if (list) list.push(h);
    else out.set(h.key, [h]);
  }
  return out;
}

function sessionOf(hits: readonly ImportCandidateHit[]): VisitorSession {
  const sorted = [...hits].sort((a, b) => a.at - b.at || (a.hitId < b.hitId ? -1 : 1));
  const refs: SessionHitRef[] = sorted.map((h) => ({
    hitId: h.hitId,
    nodeId: h.nodeId,
    pageId: h.pageId,
    pageKind: h.pageKind,
    funnelId: h.funnelId,
    at: h.at,
  }));
  const first = sorted[0] as ImportCandidateHit;
  return {
    visitorId: first.visitorId,
    workspaceId: "",
    hits: refs,
    entry: {
      trafficSourceId: first.trafficSourceId,
      externalId: null,
      campaign: null,
      cost: null,
      fields: {},
    },
    createdAt: first.at,
    lastSeenAt: (sorted[sorted.length - 1] as ImportCandidateHit).at,
  };
}
