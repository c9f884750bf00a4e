import { microsToMoney, moneyToMicros, normalizeMoney } from "@hitrail/core";
import { and, asc, eq, gte, lt, type SQL, sql } from "drizzle-orm";
import type { Database, Executor } from "../client.ts";
import {
  conversionRollupState,
  conversionRollupsHourly,
  hitRollupsHourly,
  type RollupContribution,
  workspaces,
} from "../schema/index.ts";
import { withWorkspace } from "../tenancy.ts";

export type { RollupContribution } from "../schema/rollups.ts";
export type ConversionRollupRow = typeof conversionRollupsHourly.$inferSelect;
export type HitRollupRow = typeof hitRollupsHourly.$inferSelect;

// How a conversion counts in the hourly rollups (the one definition both the incremental path and
// the recompute use):
//  - a live conversion (not deleted, not rejected) adds 1 conversion and its revenue to the hour of
//    its converting visit (conversions.hit_at), as a `direct` row for the converting page;
//  - and the same to the hour of every earlier page visit it credits (touches of kind `assisted`,
//    touches.hit_at), as `assisted` rows for those pages;
//  - a deleted or rejected conversion adds nothing.
// Hours are UTC. The direct row comes from the conversion itself, so a conversion whose touches are
// missing still counts where it converted.

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export function floorHour(at: Date): Date {
  return new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
}

export function ceilHour(at: Date): Date {
  return new Date(Math.ceil(at.getTime() / HOUR_MS) * HOUR_MS);
}

// ---------------------------------------------------------------------------------------------
// Pure parts: keys and deltas

/** One string per rollup row identity (hour and every dimension). */
export function contributionKey(r: Omit<RollupContribution, "conversions" | "revenue">): string {
  return [
    r.hour,
    r.funnelId,
    r.nodeId,
    r.pageId ?? "",
    r.trafficSourceId ?? "",
    r.country ?? "",
    r.deviceType ?? "",
    r.os ?? "",
    r.browser ?? "",
    r.eventKey,
    r.touchKind,
  ].join("|");
}

function grouped(
  rows: readonly RollupContribution[],
): Map<string, { row: RollupContribution; count: number; micros: bigint }> {
  const out = new Map<string, { row: RollupContribution; count: number; micros: bigint }>();
  for (const row of rows) {
    const key = contributionKey(row);
    const entry = out.get(key) ?? { row, count: 0, micros: 0n };
    entry.count += row.conversions;
    entry.micros += moneyToMicros(row.revenue);
    out.set(key, entry);
  }
  return out;
}

/** Sums rows with the same identity (two assisted visits to one page in one hour are one row). */
export function groupContributions(rows: readonly RollupContribution[]): RollupContribution[] {
  return [...grouped(rows)]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, e]) => ({ ...e.row, conversions: e.count, revenue: microsToMoney(e.micros) }));
}

/**
 * What to add to the rollups to go from `applied` to `current`: per row identity, current minus
 * applied, zero rows left out, sorted by key so concurrent appliers lock rollup rows in one order.
 */
export function diffContributions(
  applied: readonly RollupContribution[],
  current: readonly RollupContribution[],
): RollupContribution[] {
  const before = grouped(applied);
  const after = grouped(current);
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  const delta: RollupContribution[] = [];
  for (const key of keys) {
    const a = before.get(key);
    const c = after.get(key);
    const row = (c ?? a)?.row;
    if (!row) continue;
    const count = (c?.count ?? 0) - (a?.count ?? 0);
    const micros = (c?.micros ?? 0n) - (a?.micros ?? 0n);
    if (count === 0 && micros === 0n) continue;
    delta.push({ ...row, conversions: count, revenue: microsToMoney(micros) });
  }
  return delta;
}

// ---------------------------------------------------------------------------------------------
// SQL shared by both paths

/** One conversion, a time range, or the conversions a subquery names (`select id …`). */
type Scope = { conversionId: string } | { from: Date; to: Date } | { conversionIds: SQL };

/**
 * Contribution rows (one per direct conversion and per assisted touch, not yet grouped) of the
 * conversions in scope: one conversion, or every visit hour in [from, to).
 */
/** Exported for conversion imports' set-based catch-up (conversion-imports.ts), which groups by conversion_id. */
export function contributionRows(workspaceId: string, scope: Scope): SQL {
  const onConversion =
    "conversionId" in scope
      ? sql`c.id = ${scope.conversionId}`
      : "conversionIds" in scope
        ? sql`c.id in (${scope.conversionIds})`
        : sql`c.hit_at >= ${scope.from.toISOString()}::timestamptz and c.hit_at < ${scope.to.toISOString()}::timestamptz`;
  const onTouch =
    "conversionId" in scope
      ? sql`t.conversion_id = ${scope.conversionId}`
      : "conversionIds" in scope
        ? sql`t.conversion_id in (${scope.conversionIds})`
        : sql`t.hit_at >= ${scope.from.toISOString()}::timestamptz and t.hit_at < ${scope.to.toISOString()}::timestamptz`;
  // Country, device, OS and browser are the credited visit's, read from its hit (an id lookup that
  // prunes to one partition); a hit that is gone leaves them null.
  return sql`
    select date_trunc('hour', c.hit_at at time zone 'UTC') as hour_utc, c.funnel_id, c.node_id, c.page_id,
           c.traffic_source_id, h.country, h.device_type, h.os, h.browser,
           c.event_key, 'direct'::touch_kind as touch_kind, c.revenue, c.id as conversion_id
    from conversions c
    left join hits h on h.workspace_id = c.workspace_id and h.id = c.hit_id
    where c.workspace_id = ${workspaceId} and c.deleted_at is null and c.status <> 'rejected' and ${onConversion}
    union all
    select date_trunc('hour', t.hit_at at time zone 'UTC'), t.funnel_id, t.node_id, t.page_id,
           c.traffic_source_id, h.country, h.device_type, h.os, h.browser,
           c.event_key, 'assisted'::touch_kind, c.revenue, c.id
    from touches t
    join conversions c on c.workspace_id = t.workspace_id and c.id = t.conversion_id
    left join hits h on h.workspace_id = t.workspace_id and h.id = t.hit_id
    where t.workspace_id = ${workspaceId} and t.kind = 'assisted' and c.deleted_at is null
      and c.status <> 'rejected' and ${onTouch}`;
}

type ContributionSqlRow = {
  hour: string;
  funnel_id: string;
  node_id: string;
  page_id: string | null;
  traffic_source_id: string | null;
  country: string | null;
  device_type: string | null;
  os: string | null;
  browser: string | null;
  event_key: string;
  touch_kind: "direct" | "assisted";
  conversions: number;
  revenue: string;
};

const toContribution = (r: ContributionSqlRow): RollupContribution => ({
  hour: r.hour,
  funnelId: r.funnel_id,
  nodeId: r.node_id,
  pageId: r.page_id,
  trafficSourceId: r.traffic_source_id,
  country: r.country,
  deviceType: r.device_type,
  os: r.os,
  browser: r.browser,
  eventKey: r.event_key,
  touchKind: r.touch_kind,
  conversions: Number(r.conversions),
  revenue: normalizeMoney(r.revenue),
});

async function loadContribution(
  tx: Executor,
  workspaceId: string,
  conversionId: string,
): Promise<RollupContribution[]> {
  const rows = await tx.execute<ContributionSqlRow>(sql`
    select to_char(x.hour_utc, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as hour, x.funnel_id, x.node_id, x.page_id,
           x.traffic_source_id, x.country, x.device_type, x.os, x.browser, x.event_key, x.touch_kind,
           1 as conversions, x.revenue::text as revenue
    from (${contributionRows(workspaceId, { conversionId })}) x`);
  return groupContributions(rows.map(toContribution));
}

async function addToRollups(
  tx: Executor,
  workspaceId: string,
  delta: readonly RollupContribution[],
): Promise<void> {
  if (delta.length === 0) return;
  const json = JSON.stringify(delta.map((d, i) => ({ ...d, i })));
  await tx.execute(sql`
    insert into conversion_rollups_hourly as r
      (workspace_id, hour, funnel_id, node_id, page_id, traffic_source_id, country, device_type, os, browser,
       event_key, touch_kind, conversions, revenue)
    select ${workspaceId}, x."hour", x."funnelId", x."nodeId", x."pageId", x."trafficSourceId", x."country",
           x."deviceType", x."os", x."browser", x."eventKey", x."touchKind"::touch_kind, x."conversions", x."revenue"
    from json_to_recordset(${json}::json) as x("i" int, "hour" timestamptz, "funnelId" uuid, "nodeId" uuid,
      "pageId" uuid, "trafficSourceId" uuid, "country" text, "deviceType" text, "os" text, "browser" text,
      "eventKey" text, "touchKind" text, "conversions" int, "revenue" numeric)
    order by x."i"
    on conflict on constraint conversion_rollups_hourly_key do update
      set conversions = r.conversions + excluded.conversions,
          revenue = r.revenue + excluded.revenue,
          updated_at = now()`);
}

// ---------------------------------------------------------------------------------------------
// Retries: concurrent appliers and recomputes may deadlock or fail serialization; both are safe to
// run again from the start because nothing is committed.

const RETRYABLE_STATES = new Set(["40001", "40P01"]);

function sqlState(error: unknown): string | undefined {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = e?.cause?.code ?? e?.code;
  return typeof code === "string" ? code : undefined;
}

async function withRetry<T>(fn: () => Promise<T>, attempts = 10): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const state = sqlState(error);
      if (attempt >= attempts || state === undefined || !RETRYABLE_STATES.has(state)) throw error;
      await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Incremental path

export type ApplyOutcome =
  | { status: "applied"; revision: number; changedRows: number }
  | { status: "unchanged"; revision: number }
  | { status: "missing" };

/**
 * Brings one conversion's share of the rollups up to its current state, exactly once: the ledger row
 * is locked, (current contribution − applied contribution) is added to each rollup row it touches,
 * and the revision is recorded. A job for an older revision, a retried job and the loser of two
 * racing jobs find nothing left to do.
 */
export async function applyConversionRollup(
  db: Database,
  input: { workspaceId: string; conversionId: string },
): Promise<ApplyOutcome> {
  return withRetry(() => withWorkspace(db, input.workspaceId, (tx) => applyInTx(tx, input)));
}

async function applyInTx(
  tx: Executor,
  input: { workspaceId: string; conversionId: string },
): Promise<ApplyOutcome> {
  const { workspaceId, conversionId } = input;
  await tx.execute(sql`
    insert into conversion_rollup_state (conversion_id, workspace_id, applied_revision)
    select c.id, c.workspace_id, 0 from conversions c where c.workspace_id = ${workspaceId} and c.id = ${conversionId}
    on conflict (conversion_id) do nothing`);
  const [state] = await tx
    .select({
      appliedRevision: conversionRollupState.appliedRevision,
      contribution: conversionRollupState.contribution,
    })
    .from(conversionRollupState)
    .where(
      and(
        eq(conversionRollupState.workspaceId, workspaceId),
        eq(conversionRollupState.conversionId, conversionId),
      ),
    )
    .for("update");
  if (!state) return { status: "missing" };
  // Read after the lock, and before the contribution: if the tracker commits a newer revision in
  // between, the recorded revision is the older one and that revision's own job re-applies (a no-op
  // delta), never the other way round.
  const [conversion] = await tx.execute<{ revision: number }>(
    sql`select revision from conversions where workspace_id = ${workspaceId} and id = ${conversionId}`,
  );
  const revision = conversion ? Number(conversion.revision) : state.appliedRevision;
  if (conversion && revision <= state.appliedRevision) return { status: "unchanged", revision };
  const current = conversion ? await loadContribution(tx, workspaceId, conversionId) : [];
  const delta = diffContributions(state.contribution, current);
  await addToRollups(tx, workspaceId, delta);
  await tx
    .update(conversionRollupState)
    .set({ appliedRevision: revision, contribution: current, updatedAt: sql`now()` })
    .where(
      and(
        eq(conversionRollupState.workspaceId, workspaceId),
        eq(conversionRollupState.conversionId, conversionId),
      ),
    );
  return { status: "applied", revision, changedRows: delta.length };
}

// ---------------------------------------------------------------------------------------------
// Recompute from raw rows

export interface RecomputeRange {
  from: Date;
  to: Date;
}

function hoursOf(range: RecomputeRange): { from: Date; to: Date; hours: number } {
  const from = floorHour(range.from);
  const to = ceilHour(range.to);
  if (to.getTime() < from.getTime()) throw new RangeError("recompute range ends before it starts");
  return { from, to, hours: Math.round((to.getTime() - from.getTime()) / HOUR_MS) };
}

/**
 * Rebuilds one workspace's conversion rollups for the visit hours in [from, to) from conversions and
 * touches, a day per transaction. Each day:
 *  - locks the ledger table against appliers (SHARE ROW EXCLUSIVE, taken before the snapshot so the
 *    REPEATABLE READ transaction sees every applier that finished first, and no other);
 *  - first applies every conversion of the range whose ledger is behind (a job still queued), so
 *    that the ledger and the rebuilt rows describe the same state and that job becomes a no-op;
 *  - then deletes the range's rollup rows and inserts them again from raw rows.
 */
export async function recomputeConversionRollups(
  db: Database,
  input: { workspaceId: string } & RecomputeRange,
): Promise<{ hours: number; rows: number; caughtUp: number }> {
  const { from, to, hours } = hoursOf(input);
  let rows = 0;
  let caughtUp = 0;
  for (let start = from.getTime(); start < to.getTime(); start += DAY_MS) {
    const chunk = { from: new Date(start), to: new Date(Math.min(start + DAY_MS, to.getTime())) };
    const result = await withRetry(() =>
      db.transaction(
        async (tx) => {
          await tx.execute(sql`lock table conversion_rollup_state in share row exclusive mode`);
          await tx.execute(sql`select set_config('hitrail.workspace_id', ${input.workspaceId}, true)`);
          return rebuildConversionChunk(tx, input.workspaceId, chunk);
        },
        { isolationLevel: "repeatable read" },
      ),
    );
    rows += result.rows;
    caughtUp += result.caughtUp;
  }
  return { hours, rows, caughtUp };
}

async function rebuildConversionChunk(
  tx: Executor,
  workspaceId: string,
  range: RecomputeRange,
): Promise<{ rows: number; caughtUp: number }> {
  const from = range.from.toISOString();
  const to = range.to.toISOString();
  // Only conversions with a visit in the range can contribute to it (contribution hours come from
  // hit_at values, which never change).
  const stale = await tx.execute<{ id: string }>(sql`
    with candidates as (
      select id from conversions where workspace_id = ${workspaceId} and hit_at >= ${from}::timestamptz and hit_at < ${to}::timestamptz
      union
      select conversion_id from touches where workspace_id = ${workspaceId} and hit_at >= ${from}::timestamptz and hit_at < ${to}::timestamptz
    )
    select c.id from candidates
    join conversions c on c.workspace_id = ${workspaceId} and c.id = candidates.id
    left join conversion_rollup_state s on s.conversion_id = c.id
    where s.conversion_id is null or s.applied_revision < c.revision
    order by c.id`);
  for (const { id } of stale) await applyInTx(tx, { workspaceId, conversionId: id });

  await tx
    .delete(conversionRollupsHourly)
    .where(
      and(
        eq(conversionRollupsHourly.workspaceId, workspaceId),
        gte(conversionRollupsHourly.hour, range.from),
        lt(conversionRollupsHourly.hour, range.to),
      ),
    );
  const inserted = await tx.execute<{ n: number }>(sql`
    with ins as (
      insert into conversion_rollups_hourly
        (workspace_id, hour, funnel_id, node_id, page_id, traffic_source_id, country, device_type, os, browser,
         event_key, touch_kind, conversions, revenue)
      select ${workspaceId}, x.hour_utc at time zone 'UTC', x.funnel_id, x.node_id, x.page_id, x.traffic_source_id,
             x.country, x.device_type, x.os, x.browser, x.event_key, x.touch_kind, count(*)::int, sum(x.revenue)
      from (${contributionRows(workspaceId, range)}) x
      group by x.hour_utc, x.funnel_id, x.node_id, x.page_id, x.traffic_source_id, x.country, x.device_type,
               x.os, x.browser, x.event_key, x.touch_kind
      returning 1
    )
    select count(*)::int as n from ins`);
  return { rows: Number(inserted[0]?.n ?? 0), caughtUp: stale.length };
}

/**
 * Rebuilds visit rollups for every hour in [from, to) from raw hits: one transaction per hour that
 * deletes the hour's rows and inserts them again. Without `workspaceId` it covers every workspace
 * (the every-minute job); rebuilds are serialized by a table lock so two never interleave.
 */
export async function recomputeHitRollups(
  db: Database,
  input: { workspaceId?: string } & RecomputeRange,
): Promise<{ hours: number; rows: number }> {
  const { from, hours } = hoursOf(input);
  let rows = 0;
  for (let i = 0; i < hours; i++) {
    const hour = new Date(from.getTime() + i * HOUR_MS);
    rows += await withRetry(() =>
      db.transaction(async (tx) => {
        await tx.execute(sql`lock table hit_rollups_hourly in share row exclusive mode`);
        if (input.workspaceId) {
          await tx.execute(sql`select set_config('hitrail.workspace_id', ${input.workspaceId}, true)`);
        }
        return rebuildHitHour(tx, hour, input.workspaceId);
      }),
    );
  }
  return { hours, rows };
}

async function rebuildHitHour(tx: Executor, hour: Date, workspaceId: string | undefined): Promise<number> {
  const h = hour.toISOString();
  const onWorkspace = (column: SQL) => (workspaceId ? sql`and ${column} = ${workspaceId}` : sql``);
  await tx.execute(
    sql`delete from hit_rollups_hourly where hour = ${h}::timestamptz ${onWorkspace(sql`workspace_id`)}`,
  );
  // The id range (a day either side) lets Postgres prune hit partitions: ids are UUIDv7 minted when
  // the visit happened, the same moment as created_at.
  const inserted = await tx.execute<{ n: number }>(sql`
    with ins as (
      insert into hit_rollups_hourly
        (workspace_id, hour, funnel_id, node_id, page_id, page_kind, traffic_source_id, country, device_type, os,
         browser, visits, unique_node_visits, unique_funnel_visits, bots, cost)
      select h.workspace_id, ${h}::timestamptz, h.funnel_id, h.node_id, h.page_id, h.page_kind, h.traffic_source_id,
             h.country, h.device_type, h.os, h.browser, count(*)::int,
             -- A visit is unique when the visitor has no earlier hit on the node (in the funnel): hits are
             -- immutable, so rebuilding an hour always gives the same answer.
             (count(*) filter (where not exists (
               select 1 from hits p where p.visitor_id = h.visitor_id and p.node_id = h.node_id and p.id < h.id)))::int,
             (count(*) filter (where not exists (
               select 1 from hits p where p.visitor_id = h.visitor_id and p.funnel_id = h.funnel_id and p.id < h.id)))::int,
             (count(*) filter (where h.is_bot))::int, coalesce(sum(h.cost), 0)
      from hits h
      where h.created_at >= ${h}::timestamptz and h.created_at < ${h}::timestamptz + interval '1 hour'
        and h.id >= hitrail_uuid7_floor(${h}::timestamptz - interval '1 day')
        and h.id < hitrail_uuid7_floor(${h}::timestamptz + interval '25 hours')
        ${onWorkspace(sql`h.workspace_id`)}
      group by h.workspace_id, h.funnel_id, h.node_id, h.page_id, h.page_kind, h.traffic_source_id, h.country,
               h.device_type, h.os, h.browser
      returning 1
    )
    select count(*)::int as n from ins`);
  return Number(inserted[0]?.n ?? 0);
}

export interface RecomputeSummary {
  workspaces: number;
  hours: number;
  conversionRows: number;
  hitRows: number;
  /** Conversions whose queued rollup job had not run yet; the recompute applied them first. */
  caughtUp: number;
}

/**
 * `hitrail rollups recompute`: rebuilds conversion and visit rollups for [from, to) (widened to whole
 * UTC hours) from raw rows, for one workspace or all. Safe while the worker runs.
 */
export async function recomputeRollups(
  db: Database,
  input: { workspaceId?: string } & RecomputeRange,
): Promise<RecomputeSummary> {
  const ids = input.workspaceId
    ? [input.workspaceId]
    : (await db.select({ id: workspaces.id }).from(workspaces).orderBy(asc(workspaces.id))).map((w) => w.id);
  let conversionRows = 0;
  let caughtUp = 0;
  let hours = hoursOf(input).hours;
  for (const workspaceId of ids) {
    const r = await recomputeConversionRollups(db, { workspaceId, from: input.from, to: input.to });
    conversionRows += r.rows;
    caughtUp += r.caughtUp;
    hours = r.hours;
  }
  const hits = await recomputeHitRollups(db, input);
  return { workspaces: ids.length, hours, conversionRows, hitRows: hits.rows, caughtUp };
}

// ---------------------------------------------------------------------------------------------
// Reads

export async function listConversionRollups(
  db: Executor,
  input: { workspaceId: string } & RecomputeRange,
): Promise<ConversionRollupRow[]> {
  return db
    .select()
    .from(conversionRollupsHourly)
    .where(
      and(
        eq(conversionRollupsHourly.workspaceId, input.workspaceId),
        gte(conversionRollupsHourly.hour, input.from),
        lt(conversionRollupsHourly.hour, input.to),
      ),
    )
    .orderBy(asc(conversionRollupsHourly.hour));
}

export async function listHitRollups(
  db: Executor,
  input: { workspaceId: string } & RecomputeRange,
): Promise<HitRollupRow[]> {
  return db
    .select()
    .from(hitRollupsHourly)
    .where(
      and(
        eq(hitRollupsHourly.workspaceId, input.workspaceId),
        gte(hitRollupsHourly.hour, input.from),
        lt(hitRollupsHourly.hour, input.to),
      ),
    )
    .orderBy(asc(hitRollupsHourly.hour));
}

export interface RollupDrift {
  key: string;
  stored: { conversions: number; revenue: string } | null;
  expected: { conversions: number; revenue: string } | null;
}

/**
 * Read-only check: the stored conversion rollups of [from, to) against what the raw rows say now.
 * Empty once every queued rollup job has run (the tests use it; a CLI `verify` could too).
 */
export async function conversionRollupDrift(
  db: Database,
  input: { workspaceId: string } & RecomputeRange,
): Promise<RollupDrift[]> {
  const { from, to } = hoursOf(input);
  const rows = await withWorkspace(db, input.workspaceId, (tx) =>
    tx.execute<ContributionSqlRow & { source: "stored" | "expected" }>(sql`
      select 'expected' as source, to_char(x.hour_utc, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as hour, x.funnel_id, x.node_id,
             x.page_id, x.traffic_source_id, x.country, x.device_type, x.os, x.browser, x.event_key, x.touch_kind,
             count(*)::int as conversions, sum(x.revenue)::text as revenue
      from (${contributionRows(input.workspaceId, { from, to })}) x
      group by x.hour_utc, x.funnel_id, x.node_id, x.page_id, x.traffic_source_id, x.country, x.device_type, x.os,
               x.browser, x.event_key, x.touch_kind
      union all
      select 'stored', to_char(r.hour at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), r.funnel_id, r.node_id,
             r.page_id, r.traffic_source_id, r.country, r.device_type, r.os, r.browser, r.event_key, r.touch_kind,
             r.conversions, r.revenue::text
      from conversion_rollups_hourly r
      where r.workspace_id = ${input.workspaceId} and r.hour >= ${from.toISOString()}::timestamptz
        and r.hour < ${to.toISOString()}::timestamptz and (r.conversions <> 0 or r.revenue <> 0)`),
  );
  const byKey = new Map<string, RollupDrift>();
  for (const r of rows) {
    const c = toContribution(r);
    const key = contributionKey(c);
    const entry = byKey.get(key) ?? { key, stored: null, expected: null };
    entry[r.source] = { conversions: c.conversions, revenue: c.revenue };
    byKey.set(key, entry);
  }
  return [...byKey.values()].filter(
    (d) =>
      d.stored?.conversions !== d.expected?.conversions ||
      moneyToMicros(d.stored?.revenue ?? "0") !== moneyToMicros(d.expected?.revenue ?? "0") ||
      (d.stored === null) !== (d.expected === null),
  );
}
