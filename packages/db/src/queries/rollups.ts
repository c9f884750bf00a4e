import { microsToMoney, moneyToMicros, normalizeMoney } from "@hitrail/core";
import { and, asc, eq, gte, lt, type SQL, sql } from "drizzle-orm";
import type { Database, Executor } from "../client.ts";
import {
  conversionRollupState,
  conversionRollupsHourly,
  fieldRollupsDaily,
  fieldRollupsHourly,
  hitRollupsHourly,
  type RollupContribution,
  rollupWatermarks,
  workspaces,
} from "../schema/index.ts";
import { withWorkspace } from "../tenancy.ts";
import { CAMPAIGN_FIELD, EVERY_VISIT_FIELD } from "./reports.ts";

export type { RollupContribution } from "../schema/rollups.ts";
export type ConversionRollupRow = typeof conversionRollupsHourly.$inferSelect;
export type HitRollupRow = typeof hitRollupsHourly.$inferSelect;
export type FieldRollupRow = typeof fieldRollupsHourly.$inferSelect;
export type FieldDayRollupRow = typeof fieldRollupsDaily.$inferSelect;

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

/** One conversion, a time range, the conversions a relation lists (`conversionsOf`, with an `id`
 * column), or the conversions a subquery names (`conversionIds`: `select id …`); `probeIdsOf` a
 * relation's few ids, found by index probes (one array, whatever the statistics say: a semi-join
 * planned on lagging statistics scanned the workspace's touches once per conversion). */
type Scope =
  | { conversionId: string }
  | { from: Date; to: Date }
  | { conversionsOf: SQL }
  | { conversionIds: SQL }
  | { probeIdsOf: SQL };

/**
 * Contribution rows (one per direct conversion and per assisted touch, not yet grouped) of the
 * conversions in scope: one conversion, every visit hour in [from, to), or the conversions whose
 * ids a relation (`conversionsOf`, with an `id` column) lists.
 */
// Exported for conversion imports' catch-up (conversion-imports.ts), which groups by conversion_id.
// `workspaceId` null: every workspace (the sweep, on the maintenance role); rows then carry their
// workspace_id to group by. The credited visit's tracking_fields and campaign come last, for the
// conversions-by-field rollup (fieldSettleSql), then the conversion's converted_at (the hour of the
// rollups at conversion time).
export function contributionRows(workspaceId: string | null, scope: Scope): SQL {
  const onConversion =
    "conversionId" in scope
      ? sql`c.id = ${scope.conversionId}`
      : "probeIdsOf" in scope
        ? sql`c.id = any(array(select id from ${scope.probeIdsOf}))`
        : "conversionsOf" in scope
          ? sql`c.id in (select id from ${scope.conversionsOf})`
          : "conversionIds" in scope
            ? sql`c.id in (${scope.conversionIds})`
            : sql`c.hit_at >= ${scope.from.toISOString()}::timestamptz and c.hit_at < ${scope.to.toISOString()}::timestamptz`;
  const onTouch =
    "conversionId" in scope
      ? sql`t.conversion_id = ${scope.conversionId}`
      : "probeIdsOf" in scope
        ? sql`c.id = any(array(select id from ${scope.probeIdsOf}))`
        : "conversionsOf" in scope
          ? sql`t.conversion_id in (select id from ${scope.conversionsOf})`
          : "conversionIds" in scope
            ? sql`t.conversion_id in (${scope.conversionIds})`
            : sql`t.hit_at >= ${scope.from.toISOString()}::timestamptz and t.hit_at < ${scope.to.toISOString()}::timestamptz`;
  const conversionIn = workspaceId === null ? sql`true` : sql`c.workspace_id = ${workspaceId}`;
  const touchIn = workspaceId === null ? sql`true` : sql`t.workspace_id = ${workspaceId}`;
  // Country, device, OS, browser and tracking fields are the credited visit's, read from its hit (an
  // id lookup that prunes to one partition); a hit that is gone leaves them null. Always that lookup: as a plain
  // join, a day of a large data set's conversions was costed above a hash join that reads every hit.
  const visitOf = (workspace: SQL, hit: SQL) =>
    sql`select h.country, h.device_type, h.os, h.browser, h.tracking_fields, h.campaign from hits h
        where h.workspace_id = ${workspace} and h.id = ${hit} offset 0`;
  // Probing a few conversions' touches: each conversion's own, by its id in the touches' conversion
  // index (a lateral subquery the planner cannot turn round into a walk of the workspace's touches, and
  // no workspace condition inside for it to prefer the workspace's hit_at index with, as it did on
  // lagging statistics; the workspace is checked outside).
  const touchesOfConversions =
    "probeIdsOf" in scope
      ? sql`conversions c
    cross join lateral (select * from touches t where t.conversion_id = c.id offset 0) t`
      : sql`touches t
    join conversions c on c.workspace_id = t.workspace_id and c.id = t.conversion_id`;
  return sql`
    select c.id as conversion_id, date_trunc('hour', c.hit_at at time zone 'UTC') as hour_utc, c.funnel_id, c.node_id, c.page_id,
           c.traffic_source_id, h.country, h.device_type, h.os, h.browser,
           c.event_key, 'direct'::touch_kind as touch_kind, c.revenue, c.workspace_id,
           h.tracking_fields, h.campaign, c.converted_at
    from conversions c
    left join lateral (${visitOf(sql`c.workspace_id`, sql`c.hit_id`)}) h on true
    where ${conversionIn} and c.deleted_at is null and c.status <> 'rejected' and ${onConversion}
    union all
    select c.id, date_trunc('hour', t.hit_at at time zone 'UTC'), t.funnel_id, t.node_id, t.page_id,
           c.traffic_source_id, h.country, h.device_type, h.os, h.browser,
           c.event_key, 'assisted'::touch_kind, c.revenue, c.workspace_id, h.tracking_fields, h.campaign,
           c.converted_at
    from ${touchesOfConversions}
    left join lateral (${visitOf(sql`t.workspace_id`, sql`t.hit_id`)}) h on true
    where ${touchIn} and t.kind = 'assisted' and c.deleted_at is null
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
  await tx.execute(fieldSettleSql(workspaceId, sql`select ${conversionId}::uuid`));
  return { status: "applied", revision, changedRows: delta.length };
}

// ---------------------------------------------------------------------------------------------
// Recompute from raw rows

export interface RecomputeRange {
  from: Date;
  to: Date;
}

/**
 * [from, to) cut at UTC midnights: a rebuild's transactions, each of one UTC day at most, so each
 * sums the days of the rollups by field and by tuple (rebuildFieldDays) of one day, not two.
 */
function utcDays(range: RecomputeRange): RecomputeRange[] {
  const out: RecomputeRange[] = [];
  for (let start = range.from.getTime(); start < range.to.getTime(); ) {
    const end = Math.min((Math.floor(start / DAY_MS) + 1) * DAY_MS, range.to.getTime());
    out.push({ from: new Date(start), to: new Date(end) });
    start = end;
  }
  return out;
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
 *  - deletes the range's rollup rows, then in one statement applies every conversion of the range
 *    whose ledger is behind (a job still queued), so that the ledger and the rebuilt rows describe
 *    the same state and that job becomes a no-op, and inserts the range's rows again from raw rows.
 */
export async function recomputeConversionRollups(
  db: Database,
  input: { workspaceId: string } & RecomputeRange,
): Promise<{ hours: number; rows: number; caughtUp: number }> {
  const { from, to, hours } = hoursOf(input);
  let rows = 0;
  let caughtUp = 0;
  for (const chunk of utcDays({ from, to })) {
    const result = await withRetry(() =>
      db.transaction(
        async (tx) => {
          await tx.execute(sql`lock table conversion_rollup_state in share row exclusive mode`);
          // These statements are costed high enough for JIT, whose compiling outlasts their running.
          await tx.execute(sql`set local jit = off`);
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

const LEDGER_KEY_COLUMNS =
  "hour_utc, funnel_id, node_id, page_id, traffic_source_id, country, device_type, os, browser, event_key, touch_kind";
const LEDGER_KEY = sql.raw(LEDGER_KEY_COLUMNS);

/**
 * Each conversion's ledger entries as one jsonb array: `entry` (a select list over `cur`, a row of
 * `rows`; its column names are the JSON keys) for each of its rows, in `order` (columns of `cur`).
 * Made as an array of rows turned to jsonb once, to_jsonb(array_agg(e)): the same jsonb as jsonb_agg
 * of a jsonb_build_object per entry, in about half the time (40,000 entries: 200-250 ms against
 * 405-430), where building these arrays was half of an import batch's settle.
 */
function ledgerArraySql(rows: SQL, entry: SQL, order: string): SQL {
  return sql`select cur.conversion_id, to_jsonb(array_agg(e order by ${sql.raw(order.replace(/(\w+)/g, "cur.$1"))})) as contribution
      from ${rows} cur cross join lateral (select ${entry}) e
      group by cur.conversion_id`;
}

/** An entry's hour as the ledger writes it (the form of loadContribution's). */
const LEDGER_HOUR = sql.raw(`to_char(cur.hour_utc, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "hour"`);

/**
 * Rebuilds one chunk's conversion rollups in one statement, its rows deleted before: every
 * conversion with a visit in the range whose ledger is behind (its job still queued, or never run)
 * is brought up to date, as sets, what applyConversionRollup does one conversion at a time (current
 * contribution − applied contribution, read from its ledger, is added to the rollup rows outside
 * the range; its ledger records the current revision and contribution), and the range's rows are
 * inserted from raw rows. A stale conversion's contribution is computed once, for its ledger and
 * for the range's rows both. Runs with the ledger table locked against appliers, in the snapshot
 * of the delete before it.
 */
async function rebuildConversionRows(
  tx: Executor,
  workspaceId: string,
  range: RecomputeRange,
): Promise<{ caughtUp: number; rows: number }> {
  const from = range.from.toISOString();
  const to = range.to.toISOString();
  // Only conversions with a visit in the range can contribute to it (contribution hours come from
  // hit_at values, which never change).
  const candidates = sql`
      select id from conversions where workspace_id = ${workspaceId} and hit_at >= ${from}::timestamptz and hit_at < ${to}::timestamptz
      union
      select conversion_id from touches where workspace_id = ${workspaceId} and hit_at >= ${from}::timestamptz and hit_at < ${to}::timestamptz`;
  const [result] = await tx.execute<{ n: number; rebuilt: number }>(
    catchUpSql(workspaceId, { query: candidates }, range),
  );
  return { caughtUp: Number(result?.n ?? 0), rows: Number(result?.rebuilt ?? 0) };
}

/**
 * The conversions a conversion import batch just wrote, settled in the rollups in the batch's own
 * transaction, as sets, in one statement: what catchUpSql and then fieldSettleSql do (and
 * applyConversionRollup one conversion at a time), by field and by visit tuple too, with their
 * contribution rows computed once and each ledger row written once (all its contributions), where the two statements read the visits
 * twice and wrote each new ledger row twice (an insert, then an update): 40% of a batch's time in
 * the database. The rollup rows, the one thing another lane's batch also writes (the same hours),
 * are written last, so their row locks are held from there to the commit only. Run it with the
 * ledger rows of the batch's conversions that already existed locked (lockRollupLedgerRows), so what
 * it reads of them is what it replaces.
 */
export function settleImportedConversionsSql(workspaceId: string, conversionIds: readonly string[]): SQL {
  return sql`
    with picked as materialized (
      -- One probe each (see catchUpSql): an array the planner cannot size.
      select c.id, c.workspace_id, c.revision, s.conversion_id is null or s.applied_revision < c.revision as stale,
             s.applied_revision, coalesce(s.contribution, '[]'::jsonb) as applied, s.field_contribution,
             s.tuple_contribution, s.converted_hour, date_trunc('hour', c.converted_at at time zone 'UTC') as converted_now
      from conversions c
      left join conversion_rollup_state s on s.conversion_id = c.id
      where c.workspace_id = ${workspaceId} and c.id = any(array(select unnest(${`{${conversionIds.join(",")}}`}::uuid[])))
    ),
    credited as materialized (
      select x.*, ${tupleFieldsOf("x")} as fields
      from (${contributionRows(workspaceId, { probeIdsOf: sql`picked` })}) x
    ),
    now_rows as materialized (
      select x.conversion_id, ${LEDGER_KEY}, count(*)::int as conversions, sum(x.revenue) as revenue
      from credited x join picked p on p.id = x.conversion_id and p.stale
      group by x.conversion_id, ${LEDGER_KEY}
    ),
    stale as (
      select id, revision, applied from picked where stale
    ),
    ${conversionLedgerCtes(workspaceId, null)},
    ${ledgerRollupCtes(null)},
    ledgers as (
      -- Each conversion's ledger row once, with all its contributions: a stale one records its revision
      -- and what it gives now; one already settled keeps its own and gets only its fields' (as
      -- fieldSettleSql would write).
      insert into conversion_rollup_state as s
        (conversion_id, workspace_id, applied_revision, contribution, field_contribution, tuple_contribution,
         converted_hour)
      select p.id, ${workspaceId}, case when p.stale then p.revision else p.applied_revision end,
             case when p.stale then coalesce(p.contribution, '[]'::jsonb) else p.applied end,
             coalesce(p.field_contribution, '[]'::jsonb), coalesce(p.tuple_contribution, '[]'::jsonb),
             p.converted_now at time zone 'UTC'
      from (
        -- Each conversion with all its contributions, gathered by grouping rather than joined: its
        -- row counts estimated at one, the planner nested two joins and rebuilt the inner one's
        -- aggregate once per conversion (a minute a batch).
        select u.id, bool_or(u.stale) as stale, max(u.revision) as revision, max(u.applied_revision) as applied_revision,
               (array_agg(u.applied) filter (where u.applied is not null))[1] as applied,
               (array_agg(u.contribution) filter (where u.contribution is not null))[1] as contribution,
               (array_agg(u.field_contribution) filter (where u.field_contribution is not null))[1] as field_contribution,
               (array_agg(u.tuple_contribution) filter (where u.tuple_contribution is not null))[1] as tuple_contribution,
               max(u.converted_now) as converted_now
        from (
          select id, stale, revision, applied_revision, applied, null::jsonb as contribution,
                 null::jsonb as field_contribution, null::jsonb as tuple_contribution, converted_now
          from picked
          union all
          select conversion_id, null, null, null, null, contribution, null, null, null from contributions
          union all
          select conversion_id, null, null, null, null, null, contribution, null, null from field_contributions
          union all
          select conversion_id, null, null, null, null, null, null, contribution, null from tuple_ledger_rows
        ) u
        group by u.id
      ) p
      order by p.id
      on conflict (conversion_id) do update
        set applied_revision = excluded.applied_revision, contribution = excluded.contribution,
            field_contribution = excluded.field_contribution, tuple_contribution = excluded.tuple_contribution,
            converted_hour = excluded.converted_hour, updated_at = now()
        where s.applied_revision is distinct from excluded.applied_revision
           or s.contribution is distinct from excluded.contribution
           or s.field_contribution is distinct from excluded.field_contribution
           or s.tuple_contribution is distinct from excluded.tuple_contribution
           or s.converted_hour is distinct from excluded.converted_hour
      returning 1
    )
    -- Read in this order, the ledgers are written before the rollup rows (a data-modifying CTE runs
    -- when first read).
    select (select count(*) from ledgers)::int as ledgers, (select count(*) from added) as added,
           (select count(*) from field_added)::int as field_added, (select count(*) from field_day_added)::int as days,
           (select count(*) from tuple_added)::int as tuples, (select count(*) from tuple_day_added)::int as tuple_days,
           (select count(*) from time_added)::int as times, (select count(*) from time_day_added)::int as time_days,
           (select count(*) from time_plain_added)::int as time_plain,
           -- Rows this left at nothing (a conversion created and deleted): a rebuild would not have them.
           (select coalesce(array_agg(ctid), '{}')::text from added where zero) as zero_rows`;
}

/**
 * Deletes the rollup rows a settle left at zero (`zero_rows` of settleImportedConversionsSql), in its
 * transaction: their row locks are still held, so they are the rows it wrote.
 */
export function deleteZeroRollupRowsSql(workspaceId: string, zeroRows: string): SQL {
  return sql`delete from conversion_rollups_hourly
    where workspace_id = ${workspaceId} and ctid = any(${zeroRows}::tid[]) and conversions = 0 and revenue = 0`;
}

/** Locks the rollup ledger rows of these conversions, in one order (rows that do not exist yet: none). */
export function lockRollupLedgerRowsSql(conversionIds: readonly string[]): SQL {
  return sql`select count(*)::int as n from (select 1 from conversion_rollup_state
    where conversion_id = any(${`{${conversionIds.join(",")}}`}::uuid[]) order by conversion_id for update) locked`;
}

/**
 * The conversion rollup's part of a settle, as CTEs over its `stale` (id, revision, applied: the
 * conversions whose ledger is behind, and what their ledger says they added) and `now_rows` (what
 * each gives now, by ledger key): then_rows, delta (outside `rebuild`'s range, all of it without
 * one) added to conversion_rollups_hourly as `added`, and `contributions`, the ledger's form of
 * now_rows. The one text catchUpSql and the import's settleImportedConversionsSql both embed.
 */
function conversionLedgerCtes(workspaceId: string, rebuild: RecomputeRange | null): SQL {
  const from = rebuild?.from.toISOString() ?? null;
  const to = rebuild?.to.toISOString() ?? null;
  return sql`
    then_rows as (
      select (a.hour at time zone 'UTC') as hour_utc, a."funnelId" as funnel_id, a."nodeId" as node_id,
             a."pageId" as page_id, a."trafficSourceId" as traffic_source_id, a.country, a."deviceType" as device_type,
             a.os, a.browser, a."eventKey" as event_key, a."touchKind"::touch_kind as touch_kind, a.conversions, a.revenue
      from stale st, jsonb_to_recordset(st.applied) as a(hour timestamptz, "funnelId" uuid, "nodeId" uuid, "pageId" uuid,
        "trafficSourceId" uuid, country text, "deviceType" text, os text, browser text, "eventKey" text,
        "touchKind" text, conversions int, revenue numeric)
    ),
    delta as (
      select ${LEDGER_KEY}, sum(d.conversions)::int as conversions, sum(d.revenue) as revenue
      from (
        select ${LEDGER_KEY}, conversions, revenue from now_rows
        union all
        select ${LEDGER_KEY}, -conversions, -revenue from then_rows
      ) d
      where ${from}::timestamptz is null
         or d.hour_utc < ${from}::timestamptz at time zone 'UTC' or d.hour_utc >= ${to}::timestamptz at time zone 'UTC'
      group by ${LEDGER_KEY}
      having sum(d.conversions) <> 0 or sum(d.revenue) <> 0
    ),
    added as (
      insert into conversion_rollups_hourly as r
        (workspace_id, hour, funnel_id, node_id, page_id, traffic_source_id, country, device_type, os, browser,
         event_key, touch_kind, conversions, revenue)
      select ${workspaceId}, d.hour_utc at time zone 'UTC', d.funnel_id, d.node_id, d.page_id, d.traffic_source_id,
             d.country, d.device_type, d.os, d.browser, d.event_key, d.touch_kind, d.conversions, d.revenue
      from delta d
      order by ${LEDGER_KEY}
      on conflict on constraint conversion_rollups_hourly_key do update
        set conversions = r.conversions + excluded.conversions,
            revenue = r.revenue + excluded.revenue,
            updated_at = now()
      returning r.ctid, r.conversions = 0 and r.revenue = 0 as zero
    ),
    contributions as (
      -- The ledger in the form loadContribution gives it: one entry per row identity, revenue as a
      -- canonical decimal string; aggregated once for all (not a scan of now_rows per conversion).
      ${ledgerArraySql(
        sql`now_rows`,
        sql`${LEDGER_HOUR}, cur.funnel_id as "funnelId", cur.node_id as "nodeId", cur.page_id as "pageId",
            cur.traffic_source_id as "trafficSourceId", cur.country, cur.device_type as "deviceType", cur.os,
            cur.browser, cur.event_key as "eventKey", cur.touch_kind as "touchKind", cur.conversions,
            trim_scale(cur.revenue)::text as revenue`,
        LEDGER_KEY_COLUMNS,
      )}
    )`;
}

/**
 * For each conversion of `candidates` (a query of ids) whose ledger is behind: current contribution
 * − applied contribution is added to the rollup rows, and its ledger records the current revision
 * and contribution. With `rebuild` (a range whose rollup rows were just deleted), only the rows
 * outside it get the difference, and the range's rows are inserted from raw rows (`rebuilt`).
 */
function catchUpSql(
  workspaceId: string,
  candidates: { query: SQL } | { ids: readonly string[] },
  rebuild: RecomputeRange | null,
): SQL {
  const from = rebuild?.from.toISOString() ?? null;
  const to = rebuild?.to.toISOString() ?? null;
  // Ids given: one primary-key probe each. With the list as a constant (`id = any('{…}')`) or joined,
  // the planner, on statistics lagging a bulk load, walked the workspace's whole hit_at index instead:
  // a cost growing with the table, per batch. As an array it cannot size, it probes.
  // A query of ids (a rebuild's chunk): the same, its ids gathered into one array first. Joined, the
  // planner hashed the workspace's whole conversions and touches tables, once per chunk: a rebuild
  // of 30 days of 200,000 conversions read them 90 times.
  const ids =
    "query" in candidates
      ? sql`array(select id from (${candidates.query}) candidates)`
      : sql`array(select unnest(${`{${candidates.ids.join(",")}}`}::uuid[]))`;
  const picked = sql`picked as (
          select c.* from conversions c
          where c.workspace_id = ${workspaceId} and c.id = any(${ids}))`;
  return sql`
    with ${picked},
    stale as materialized (
      select c.id, c.revision, coalesce(s.contribution, '[]'::jsonb) as applied
      from picked c
      left join conversion_rollup_state s on s.conversion_id = c.id
      where s.conversion_id is null or s.applied_revision < c.revision
    ),
    now_rows as materialized (
      select x.conversion_id, ${LEDGER_KEY}, count(*)::int as conversions, sum(x.revenue) as revenue
      from (${contributionRows(workspaceId, { probeIdsOf: sql`stale` })}) x
      group by x.conversion_id, ${LEDGER_KEY}
    ),
    ${conversionLedgerCtes(workspaceId, rebuild)},
    ledgers as (
      -- The ledger in the form loadContribution gives it: one entry per row identity, revenue as a
      -- canonical decimal string.
      insert into conversion_rollup_state as s (conversion_id, workspace_id, applied_revision, contribution)
      select st.id, ${workspaceId}, st.revision, coalesce(cur.contribution, '[]'::jsonb)
      from stale st left join contributions cur on cur.conversion_id = st.id
      order by st.id
      on conflict (conversion_id) do update
        set applied_revision = excluded.applied_revision, contribution = excluded.contribution, updated_at = now()
      returning 1
    )
    ${
      rebuild
        ? sql`, rebuilt as (
      -- The range's rows: the stale conversions' from the contribution just computed, every other
      -- conversion's from raw rows.
      insert into conversion_rollups_hourly
        (workspace_id, hour, funnel_id, node_id, page_id, traffic_source_id, country, device_type, os, browser,
         event_key, touch_kind, conversions, revenue)
      select ${workspaceId}, x.hour_utc at time zone 'UTC', x.funnel_id, x.node_id, x.page_id, x.traffic_source_id,
             x.country, x.device_type, x.os, x.browser, x.event_key, x.touch_kind, sum(x.conversions)::int, sum(x.revenue)
      from (
        select ${LEDGER_KEY}, conversions, revenue from now_rows
        where hour_utc >= ${from}::timestamptz at time zone 'UTC' and hour_utc < ${to}::timestamptz at time zone 'UTC'
        union all
        select ${LEDGER_KEY}, 1, raw.revenue from (${contributionRows(workspaceId, { from: rebuild.from, to: rebuild.to })}) raw
        where not exists (select from stale st where st.id = raw.conversion_id)
      ) x
      group by ${LEDGER_KEY}
      returning 1
    )`
        : sql``
    }
    select (select count(*) from stale)::int as n, (select count(*) from added) as added,
           (select count(*) from ledgers) as ledgers,
           ${rebuild ? sql`(select count(*) from rebuilt)::int` : sql`0`} as rebuilt,
           -- Rows this left at nothing (a conversion created and deleted): a rebuild would not have them.
           (select coalesce(array_agg(ctid), '{}')::text from added where zero) as zero_rows`;
}

// ---------------------------------------------------------------------------------------------
// Conversions by tracking field (field_conversion_rollups_hourly and its days): kept through the
// same ledger rows as conversion_rollups_hourly, in their own column (field_contribution), by every
// writer of those ledgers, right after it, in its transaction and under its locks.

/** The field rollup's key after (workspace, hour), as the ledger and the tables name them. */
const FIELD_CONVERSION_KEY_COLUMNS =
  "hour_utc, field_name, field_value, funnel_id, node_id, page_id, traffic_source_id, event_key, touch_kind";
const FIELD_CONVERSION_KEY = sql.raw(FIELD_CONVERSION_KEY_COLUMNS);
const FIELD_CONVERSION_COLUMNS =
  "field_name, field_value, funnel_id, node_id, page_id, traffic_source_id, event_key, touch_kind";
/** The conversions-by-tuple rollup's columns after (workspace, hour), as the ledger and the tables name them. */
const TUPLE_CONVERSION_COLUMNS =
  "funnel_id, node_id, page_id, traffic_source_id, country, device_type, os, browser, fields, event_key, touch_kind";
const TUPLE_CONVERSION_KEY_COLUMNS = `hour_utc, ${TUPLE_CONVERSION_COLUMNS}`;
const TUPLE_CONVERSION_KEY = sql.raw(TUPLE_CONVERSION_KEY_COLUMNS);
const tupleColumnsOf = (a: string) => sql.raw(TUPLE_CONVERSION_COLUMNS.replace(/(\w+)/g, `${a}.$1`));
/** conversion_time_rollups_hourly's columns after (workspace, hour): the tuple's without its fields. */
const PLAIN_CONVERSION_COLUMNS =
  "funnel_id, node_id, page_id, traffic_source_id, country, device_type, os, browser, event_key, touch_kind";
const plainColumnsOf = (a: string) => sql.raw(PLAIN_CONVERSION_COLUMNS.replace(/(\w+)/g, `${a}.$1`));

/**
 * A delta by tuple (`tuple_delta`, `time_delta`) added to its hourly rollup and to that rollup's UTC
 * days, as the CTEs `tuple_added` and `tuple_day_added` (at the visit's time) or `time_added` and
 * `time_day_added` (at the conversion's: conversion_time_tuple_rollups_*).
 */
function tupleUpserts(name: "tuple" | "time", upsertSet: SQL): SQL {
  const family = name === "tuple" ? "conversion_tuple_rollups" : "conversion_time_tuple_rollups";
  const [delta, hourly, daily] = [`${name}_delta`, `${family}_hourly`, `${family}_daily`].map((t) =>
    sql.raw(t),
  );
  return sql`${sql.raw(name)}_added as (
      insert into ${hourly} as r (workspace_id, hour, ${sql.raw(TUPLE_CONVERSION_COLUMNS)}, conversions, revenue)
      select d.workspace_id, d.hour_utc at time zone 'UTC', ${tupleColumnsOf("d")}, d.conversions, d.revenue
      from ${delta} d
      order by d.workspace_id, ${TUPLE_CONVERSION_KEY}
      on conflict on constraint ${sql.raw(`${family}_hourly_key`)} do update set ${upsertSet}
      returning 1
    ),
    ${sql.raw(name)}_day_added as (
      insert into ${daily} as r (workspace_id, day, ${sql.raw(TUPLE_CONVERSION_COLUMNS)}, conversions, revenue)
      select d.workspace_id, date_trunc('day', d.hour_utc) at time zone 'UTC' as day, ${tupleColumnsOf("d")},
             sum(d.conversions)::int, sum(d.revenue)
      from ${delta} d
      group by d.workspace_id, 2, ${tupleColumnsOf("d")}
      having sum(d.conversions) <> 0 or sum(d.revenue) <> 0
      order by d.workspace_id, 2, ${tupleColumnsOf("d")}
      on conflict on constraint ${sql.raw(`${family}_daily_key`)} do update set ${upsertSet}
      returning 1
    ),`;
}

/**
 * The rollups a settle keeps through the ledger's field_contribution and tuple_contribution, as
 * CTEs over its `picked` (id, workspace_id, field_contribution, tuple_contribution, converted_hour:
 * the ledger's; converted_now: the conversion's UTC hour now, a timestamp) and `credited`
 * (their contribution rows, with their `fields`): by field field_now, field_then, field_delta,
 * field_added, field_day_added (with `rebuild`, field_rebuilt) and field_contributions for the
 * ledger; by visit tuple the same, tuple_now … tuple_ledger_rows; at conversion time (the tuple's
 * rows in the conversion's hour: what tuple_contribution says in the hour converted_hour says)
 * time_now, time_delta, time_added, time_day_added and, without the fields, time_plain_added (with
 * `rebuild`, time_rebuilt and time_plain_rebuilt). The one text fieldSettleSql and
 * the import's settleImportedConversionsSql both embed, so both keep the rollups alike.
 */
function ledgerRollupCtes(rebuild: RecomputeRange | null): SQL {
  const from = rebuild?.from.toISOString() ?? null;
  const to = rebuild?.to.toISOString() ?? null;
  const inRange = sql`(d.hour_utc >= ${from}::timestamptz at time zone 'UTC' and d.hour_utc < ${to}::timestamptz at time zone 'UTC')`;
  const upsertSet = sql`conversions = r.conversions + excluded.conversions, revenue = r.revenue + excluded.revenue,
            updated_at = now()`;
  return sql`
    field_now as materialized (
      select x.workspace_id, x.conversion_id, x.hour_utc, f.field_name, f.field_value,
             x.funnel_id, x.node_id, x.page_id, x.traffic_source_id, x.event_key, x.touch_kind,
             count(*)::int as conversions, sum(x.revenue) as revenue
      from credited x
      cross join lateral ${visitFields("x")} f
      group by x.workspace_id, x.conversion_id, ${FIELD_CONVERSION_KEY}
    ),
    field_then as (
      select p.workspace_id, (a.hour at time zone 'UTC') as hour_utc, a."fieldName" as field_name,
             a."fieldValue" as field_value, a."funnelId" as funnel_id, a."nodeId" as node_id, a."pageId" as page_id,
             a."trafficSourceId" as traffic_source_id, a."eventKey" as event_key, a."touchKind"::touch_kind as touch_kind,
             a.conversions, a.revenue
      from picked p, jsonb_to_recordset(coalesce(p.field_contribution, '[]'::jsonb)) as a(hour timestamptz,
        "fieldName" text, "fieldValue" text, "funnelId" uuid, "nodeId" uuid, "pageId" uuid, "trafficSourceId" uuid,
        "eventKey" text, "touchKind" text, conversions int, revenue numeric)
    ),
    field_delta as materialized (
      select d.workspace_id, ${FIELD_CONVERSION_KEY}, sum(d.conversions)::int as conversions, sum(d.revenue) as revenue
      from (
        select workspace_id, ${FIELD_CONVERSION_KEY}, conversions, revenue from field_now
        union all
        select workspace_id, ${FIELD_CONVERSION_KEY}, -conversions, -revenue from field_then
      ) d
      ${rebuild ? sql`where not ${inRange}` : sql``}
      group by d.workspace_id, ${FIELD_CONVERSION_KEY}
      having sum(d.conversions) <> 0 or sum(d.revenue) <> 0
    ),
    field_added as (
      insert into field_conversion_rollups_hourly as r (workspace_id, hour, ${sql.raw(FIELD_CONVERSION_COLUMNS)}, conversions, revenue)
      select d.workspace_id, d.hour_utc at time zone 'UTC', ${sql.raw(FIELD_CONVERSION_COLUMNS.replace(/(\w+)/g, "d.$1"))},
             d.conversions, d.revenue
      from field_delta d
      -- Key order, so rollup rows are always locked in one order.
      order by d.workspace_id, ${FIELD_CONVERSION_KEY}
      on conflict on constraint field_conversion_rollups_hourly_key do update set ${upsertSet}
      returning 1
    ),
    field_day_added as (
      insert into field_conversion_rollups_daily as r (workspace_id, day, ${sql.raw(FIELD_CONVERSION_COLUMNS)}, conversions, revenue)
      select d.workspace_id, date_trunc('day', d.hour_utc) at time zone 'UTC' as day,
             ${sql.raw(FIELD_CONVERSION_COLUMNS.replace(/(\w+)/g, "d.$1"))}, sum(d.conversions)::int, sum(d.revenue)
      from field_delta d
      group by d.workspace_id, 2, ${sql.raw(FIELD_CONVERSION_COLUMNS.replace(/(\w+)/g, "d.$1"))}
      having sum(d.conversions) <> 0 or sum(d.revenue) <> 0
      order by d.workspace_id, 2, ${sql.raw(FIELD_CONVERSION_COLUMNS.replace(/(\w+)/g, "d.$1"))}
      on conflict on constraint field_conversion_rollups_daily_key do update set ${upsertSet}
      returning 1
    ),
    ${
      rebuild
        ? sql`field_rebuilt as (
      insert into field_conversion_rollups_hourly (workspace_id, hour, ${sql.raw(FIELD_CONVERSION_COLUMNS)}, conversions, revenue)
      select d.workspace_id, d.hour_utc at time zone 'UTC', ${sql.raw(FIELD_CONVERSION_COLUMNS.replace(/(\w+)/g, "d.$1"))},
             sum(d.conversions)::int, sum(d.revenue)
      from field_now d
      where ${inRange}
      group by d.workspace_id, ${FIELD_CONVERSION_KEY}
      returning 1
    ),`
        : sql``
    }
    field_contributions as (
      -- The form of the conversion ledger (see catchUpSql): one entry per row identity.
      ${ledgerArraySql(
        sql`field_now`,
        sql`${LEDGER_HOUR}, cur.field_name as "fieldName", cur.field_value as "fieldValue", cur.funnel_id as "funnelId",
            cur.node_id as "nodeId", cur.page_id as "pageId", cur.traffic_source_id as "trafficSourceId",
            cur.event_key as "eventKey", cur.touch_kind as "touchKind", cur.conversions,
            trim_scale(cur.revenue)::text as revenue`,
        FIELD_CONVERSION_KEY_COLUMNS,
      )}
    ),
    tuple_now as materialized (
      select x.workspace_id, x.conversion_id, ${TUPLE_CONVERSION_KEY}, count(*)::int as conversions, sum(x.revenue) as revenue
      from credited x
      group by x.workspace_id, x.conversion_id, ${TUPLE_CONVERSION_KEY}
    ),
    tuple_then as (
      select p.workspace_id, p.converted_hour, (a.hour at time zone 'UTC') as hour_utc, a."funnelId" as funnel_id, a."nodeId" as node_id,
             a."pageId" as page_id, a."trafficSourceId" as traffic_source_id, a.country, a."deviceType" as device_type,
             a.os, a.browser, a.fields, a."eventKey" as event_key, a."touchKind"::touch_kind as touch_kind,
             a.conversions, a.revenue
      from picked p, jsonb_to_recordset(coalesce(p.tuple_contribution, '[]'::jsonb)) as a(hour timestamptz,
        "funnelId" uuid, "nodeId" uuid, "pageId" uuid, "trafficSourceId" uuid, country text, "deviceType" text,
        os text, browser text, fields jsonb, "eventKey" text, "touchKind" text, conversions int, revenue numeric)
    ),
    tuple_delta as materialized (
      select d.workspace_id, ${TUPLE_CONVERSION_KEY}, sum(d.conversions)::int as conversions, sum(d.revenue) as revenue
      from (
        select workspace_id, ${TUPLE_CONVERSION_KEY}, conversions, revenue from tuple_now
        union all
        select workspace_id, ${TUPLE_CONVERSION_KEY}, -conversions, -revenue from tuple_then
      ) d
      ${rebuild ? sql`where not ${inRange}` : sql``}
      group by d.workspace_id, ${TUPLE_CONVERSION_KEY}
      having sum(d.conversions) <> 0 or sum(d.revenue) <> 0
    ),
    ${tupleUpserts("tuple", upsertSet)}
    ${
      rebuild
        ? sql`tuple_rebuilt as (
      insert into conversion_tuple_rollups_hourly (workspace_id, hour, ${sql.raw(TUPLE_CONVERSION_COLUMNS)}, conversions, revenue)
      select d.workspace_id, d.hour_utc at time zone 'UTC', ${tupleColumnsOf("d")}, sum(d.conversions)::int, sum(d.revenue)
      from tuple_now d
      where ${inRange}
      group by d.workspace_id, ${TUPLE_CONVERSION_KEY}
      returning 1
    ),`
        : sql``
    }
    time_now as materialized (
      -- Each credited row in the hour its conversion happened: direct and assisted alike.
      select x.workspace_id, x.conversion_id, date_trunc('hour', x.converted_at at time zone 'UTC') as hour_utc,
             ${tupleColumnsOf("x")}, count(*)::int as conversions, sum(x.revenue) as revenue
      from credited x
      group by x.workspace_id, x.conversion_id, 3, ${tupleColumnsOf("x")}
    ),
    time_delta as materialized (
      select d.workspace_id, ${TUPLE_CONVERSION_KEY}, sum(d.conversions)::int as conversions, sum(d.revenue) as revenue
      from (
        select workspace_id, ${TUPLE_CONVERSION_KEY}, conversions, revenue from time_now
        union all
        -- What the ledger added at conversion time: its tuple entries, in the hour it recorded.
        select workspace_id, converted_hour at time zone 'UTC', ${sql.raw(TUPLE_CONVERSION_COLUMNS)}, -conversions, -revenue
        from tuple_then where converted_hour is not null
      ) d
      ${rebuild ? sql`where not ${inRange}` : sql``}
      group by d.workspace_id, ${TUPLE_CONVERSION_KEY}
      having sum(d.conversions) <> 0 or sum(d.revenue) <> 0
    ),
    ${tupleUpserts("time", upsertSet)}
    time_plain_added as (
      -- The same without the fields: what a report without one reads.
      insert into conversion_time_rollups_hourly as r (workspace_id, hour, ${sql.raw(PLAIN_CONVERSION_COLUMNS)}, conversions, revenue)
      select d.workspace_id, d.hour_utc at time zone 'UTC', ${plainColumnsOf("d")}, sum(d.conversions)::int, sum(d.revenue)
      from time_delta d
      group by d.workspace_id, d.hour_utc, ${plainColumnsOf("d")}
      having sum(d.conversions) <> 0 or sum(d.revenue) <> 0
      order by d.workspace_id, d.hour_utc, ${plainColumnsOf("d")}
      on conflict on constraint conversion_time_rollups_hourly_key do update set ${upsertSet}
      returning 1
    ),
    ${
      rebuild
        ? sql`time_rebuilt as (
      insert into conversion_time_tuple_rollups_hourly (workspace_id, hour, ${sql.raw(TUPLE_CONVERSION_COLUMNS)}, conversions, revenue)
      select d.workspace_id, d.hour_utc at time zone 'UTC', ${tupleColumnsOf("d")}, sum(d.conversions)::int, sum(d.revenue)
      from time_now d
      where ${inRange}
      group by d.workspace_id, ${TUPLE_CONVERSION_KEY}
      returning 1
    ),
    time_plain_rebuilt as (
      insert into conversion_time_rollups_hourly (workspace_id, hour, ${sql.raw(PLAIN_CONVERSION_COLUMNS)}, conversions, revenue)
      select d.workspace_id, d.hour_utc at time zone 'UTC', ${plainColumnsOf("d")}, sum(d.conversions)::int, sum(d.revenue)
      from time_now d
      where ${inRange}
      group by d.workspace_id, d.hour_utc, ${plainColumnsOf("d")}
      returning 1
    ),`
        : sql``
    }
    tuple_ledger_rows as (
      ${ledgerArraySql(
        sql`tuple_now`,
        sql`${LEDGER_HOUR}, cur.funnel_id as "funnelId", cur.node_id as "nodeId", cur.page_id as "pageId",
            cur.traffic_source_id as "trafficSourceId", cur.country, cur.device_type as "deviceType", cur.os,
            cur.browser, cur.fields, cur.event_key as "eventKey", cur.touch_kind as "touchKind", cur.conversions,
            trim_scale(cur.revenue)::text as revenue`,
        TUPLE_CONVERSION_KEY_COLUMNS,
      )}
    )`;
}

/**
 * Brings the conversions-by-field rollup, and the conversions-by-tuple rollup
 * (conversion_tuple_rollups_hourly and its days, through the ledger's tuple_contribution, the same
 * way), of the conversions `candidates` names (a query of `id`s) up to their current state, exactly
 * once: for each, what its credited visits' fields give now
 * minus what its ledger says it added (field_contribution; NULL, nothing) is added to the hour and
 * day rows, and the ledger records what it gives now. Always safe to run again: a conversion that
 * did not change adds nothing. Run it holding what keeps other ledger writers out (the ledger table
 * lock, or the candidates' ledger rows), after the conversion ledger's own update.
 *
 * With `rebuild`, the range's hour rows (deleted beforehand) are inserted from what the candidates
 * give now, and only the rows outside it get differences: `candidates` must then name every
 * conversion with a visit in the range, and every one that happened in it (the hours of
 * the rollups at conversion time are the conversions' own). Its days are summed again afterwards
 * (rebuildFieldConversionDays).
 */
export function fieldSettleSql(
  workspaceId: string | null,
  candidates: SQL,
  rebuild: RecomputeRange | null = null,
): SQL {
  return sql`
    with picked as materialized (
      -- One probe each (see catchUpSql): an array the planner cannot size.
      select c.id, c.workspace_id, s.field_contribution, s.tuple_contribution, s.converted_hour,
             date_trunc('hour', c.converted_at at time zone 'UTC') as converted_now
      from conversions c
      left join conversion_rollup_state s on s.conversion_id = c.id
      where c.id = any(array(${candidates}))
        ${workspaceId === null ? sql`` : sql`and c.workspace_id = ${workspaceId}`}
    ),
    credited as materialized (
      select x.*, ${tupleFieldsOf("x")} as fields
      from (${contributionRows(workspaceId, { probeIdsOf: sql`picked` })}) x
    ),
    ${ledgerRollupCtes(rebuild)},
    field_ledgers as (
      -- A conversion without a ledger row yet gets one that says nothing else was applied (revision
      -- 0): the conversion rollups' own catch-up then adds all of it.
      insert into conversion_rollup_state as s
        (conversion_id, workspace_id, applied_revision, field_contribution, tuple_contribution, converted_hour)
      select p.id, p.workspace_id, 0, coalesce(cur.contribution, '[]'::jsonb), coalesce(tc.contribution, '[]'::jsonb),
             p.converted_now at time zone 'UTC'
      from picked p
      left join field_contributions cur on cur.conversion_id = p.id
      left join tuple_ledger_rows tc on tc.conversion_id = p.id
      order by p.id
      on conflict (conversion_id) do update
        set field_contribution = excluded.field_contribution, tuple_contribution = excluded.tuple_contribution,
            converted_hour = excluded.converted_hour, updated_at = now()
        -- A recompute settles every conversion of its range: most have not changed, and rewriting
        -- their ledger rows was a third of its time.
        where s.field_contribution is distinct from excluded.field_contribution
           or s.tuple_contribution is distinct from excluded.tuple_contribution
           or s.converted_hour is distinct from excluded.converted_hour
      returning 1
    )
    select (select count(*) from field_ledgers)::int as n, (select count(*) from field_added)::int as added,
           (select count(*) from field_day_added)::int as days, (select count(*) from tuple_added)::int as tuples,
           (select count(*) from tuple_day_added)::int as tuple_days, (select count(*) from time_added)::int as times,
           (select count(*) from time_day_added)::int as time_days, (select count(*) from time_plain_added)::int as time_plain
           ${rebuild ? sql`, (select count(*) from field_rebuilt)::int as rebuilt, (select count(*) from tuple_rebuilt)::int as tuples_rebuilt, (select count(*) from time_rebuilt)::int as times_rebuilt, (select count(*) from time_plain_rebuilt)::int as time_plain_rebuilt` : sql``}`;
}

/** Sums field_conversion_rollups_hourly again into its days for every UTC day [from, to) overlaps. */
async function rebuildFieldConversionDays(
  tx: Executor,
  range: RecomputeRange,
  workspaceId: string | undefined,
): Promise<void> {
  const from = new Date(Math.floor(range.from.getTime() / DAY_MS) * DAY_MS).toISOString();
  const to = new Date(Math.ceil(range.to.getTime() / DAY_MS) * DAY_MS).toISOString();
  const onWorkspace = workspaceId ? sql`and workspace_id = ${workspaceId}` : sql``;
  await tx.execute(
    sql`delete from field_conversion_rollups_daily where day >= ${from}::timestamptz and day < ${to}::timestamptz ${onWorkspace}`,
  );
  await tx.execute(sql`
    insert into field_conversion_rollups_daily (workspace_id, day, ${sql.raw(FIELD_CONVERSION_COLUMNS)}, conversions, revenue)
    select h.workspace_id, date_trunc('day', h.hour at time zone 'UTC') at time zone 'UTC',
           ${sql.raw(FIELD_CONVERSION_COLUMNS.replace(/(\w+)/g, "h.$1"))}, sum(h.conversions)::int, sum(h.revenue)
    from field_conversion_rollups_hourly h
    where h.hour >= ${from}::timestamptz and h.hour < ${to}::timestamptz ${onWorkspace}
    group by h.workspace_id, 2, ${sql.raw(FIELD_CONVERSION_COLUMNS.replace(/(\w+)/g, "h.$1"))}
    having sum(h.conversions) <> 0 or sum(h.revenue) <> 0`);
  for (const table of ["conversion_tuple_rollups", "conversion_time_tuple_rollups"] as const) {
    await sumDays(
      tx,
      table,
      ["workspace_id", "day", ...TUPLE_CONVERSION_COLUMNS.split(", ")],
      ["conversions", "revenue"],
      { from, to, workspaceId },
    );
  }
}

/**
 * Rebuilds the conversions-by-field rows of [from, to) from raw rows (see fieldSettleSql), by tuple,
 * and at conversion time, for one workspace or every one, holding the conversion ledger table's
 * lock: settles the ledgers of every conversion with a visit in the range or that happened in it
 * (those from before these rollups existed among them) and sums the range's days again.
 */
async function rebuildFieldConversionRange(
  tx: Executor,
  range: RecomputeRange,
  workspaceId: string | undefined,
): Promise<number> {
  const from = range.from.toISOString();
  const to = range.to.toISOString();
  const onWorkspace = workspaceId ? sql`and workspace_id = ${workspaceId}` : sql``;
  await tx.execute(
    sql`delete from field_conversion_rollups_hourly where hour >= ${from}::timestamptz and hour < ${to}::timestamptz ${onWorkspace}`,
  );
  await tx.execute(
    sql`delete from conversion_tuple_rollups_hourly where hour >= ${from}::timestamptz and hour < ${to}::timestamptz ${onWorkspace}`,
  );
  for (const table of ["conversion_time_tuple_rollups_hourly", "conversion_time_rollups_hourly"]) {
    await tx.execute(
      sql`delete from ${sql.raw(table)} where hour >= ${from}::timestamptz and hour < ${to}::timestamptz ${onWorkspace}`,
    );
  }
  // Every workspace: through each one's (workspace_id, hit_at) index, as the backfill finds hits.
  const inWorkspaces = workspaceId
    ? sql`workspace_id = ${workspaceId}`
    : sql`workspace_id = any(array(select id from workspaces))`;
  const candidates = sql`
      select id from conversions where ${inWorkspaces} and hit_at >= ${from}::timestamptz and hit_at < ${to}::timestamptz
      union
      select conversion_id from touches where ${inWorkspaces} and hit_at >= ${from}::timestamptz and hit_at < ${to}::timestamptz
      union
      -- And those that happened in the range, for the rollups at conversion time.
      select id from conversions where ${inWorkspaces} and converted_at >= ${from}::timestamptz and converted_at < ${to}::timestamptz`;
  const [row] = await tx.execute<{ rebuilt: number }>(fieldSettleSql(workspaceId ?? null, candidates, range));
  await rebuildFieldConversionDays(tx, range, workspaceId);
  return Number(row?.rebuilt ?? 0);
}

async function rebuildConversionChunk(
  tx: Executor,
  workspaceId: string,
  range: RecomputeRange,
): Promise<{ rows: number; caughtUp: number }> {
  await tx
    .delete(conversionRollupsHourly)
    .where(
      and(
        eq(conversionRollupsHourly.workspaceId, workspaceId),
        gte(conversionRollupsHourly.hour, range.from),
        lt(conversionRollupsHourly.hour, range.to),
      ),
    );
  const result = await rebuildConversionRows(tx, workspaceId, range);
  await rebuildFieldConversionRange(tx, range, workspaceId);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Visit rollups: an incremental sweep keeps them fresh, rebuilds recompute hours from raw hits.
//
// A hit row never changes, and each carries the id of the transaction that wrote it (ingest_xid).
// rollup_watermarks.hits holds the snapshot of the last sweep: the rollups hold exactly the hits
// whose transaction that snapshot shows. A sweep adds, in one statement and so in one snapshot, the
// hits its snapshot shows and the watermark's did not, and moves the watermark to its snapshot. A
// hit whose group commit lands late (an id minted seconds or, through the outage spool, hours
// before it commits) is counted by the first sweep after it commits, whatever hour it belongs to.
// A rebuild of an hour reads the hits "as of" the watermark, so it and the sweeps never count one
// hit twice. Sweeps and rebuilds take one advisory lock, so they never interleave.

/**
 * The lock every writer of hit_rollups_hourly holds for its transaction. Two int4 keys: a key space
 * apart from the single int8 keys of the conversion writer's identity locks.
 */
const HIT_ROLLUP_LOCK = sql`${0x6869_7472}::int, 1`; // "hitr"
/** With a UTC day's number (days since 1970): a rebuild's lock on that day's visit rollup rows. */
const HIT_REBUILD_DAY_LOCK = sql`${0x6869_7264}::int`; // "hird"

/**
 * The visit rollups' dimensions after (workspace, hour), in key order. The one list the rebuild,
 * the sweep and the upsert are built from: a new dimension goes here and in visitMeasures.
 */
const HIT_ROLLUP_DIMENSIONS = [
  "funnel_id",
  "node_id",
  "page_id",
  "page_kind",
  "traffic_source_id",
  "country",
  "device_type",
  "os",
  "browser",
  // Every count is split by bot or not (a key column), so reports can leave bots out.
  "is_bot",
] as const;

/**
 * What one hit row `a` adds to its rollup row, in column order. `counted` is 1 for a visit and 0 for
 * a correction row (an earlier visit that stops being its visitor's first); the unique counts are
 * +1 for a first visit and −1 for a first visit that lost its place to a hit that committed later
 * with a smaller id.
 */
function visitMeasures(a: string, m: { counted: SQL; uniqueNode: SQL; uniqueFunnel: SQL }) {
  const t = sql.raw(a);
  return {
    visits: m.counted,
    unique_node_visits: m.uniqueNode,
    unique_funnel_visits: m.uniqueFunnel,
    bots: sql`${m.counted} * ${t}.is_bot::int`,
    cost: sql`${m.counted} * coalesce(${t}.cost, 0)`,
    // An entrance starts the visitor's journey in the funnel: what reports call a visit.
    entrances: sql`${m.counted} * (${t}.prev_hit_id is null)::int`,
    // Clicks are credited to the lander they leave (clickContribution), never to the hit itself.
    action_clicks: sql`0`,
  } satisfies Record<string, SQL>;
}
type VisitMeasure = keyof ReturnType<typeof visitMeasures>;
const HIT_ROLLUP_MEASURES = Object.keys(
  visitMeasures("h", { counted: sql``, uniqueNode: sql``, uniqueFunnel: sql`` }),
) as VisitMeasure[];

const columns = (names: readonly string[], alias?: string) =>
  sql.raw(names.map((n) => (alias ? `${alias}.${n}` : n)).join(", "));

/**
 * One contribution row per hit of `a`: workspace, hour, dimensions and measures, named as the table's,
 * then the visit's tracking fields and campaign (for the visits-by-field rollup).
 */
function visitContribution(a: string, m: Parameters<typeof visitMeasures>[1]): SQL {
  const t = sql.raw(a);
  const measures = visitMeasures(a, m);
  return sql`${t}.workspace_id, date_trunc('hour', ${t}.created_at at time zone 'UTC') at time zone 'UTC' as hour,
    ${columns(HIT_ROLLUP_DIMENSIONS, a)},
    ${sql.join(
      HIT_ROLLUP_MEASURES.map((k) => sql`${measures[k]} as ${sql.raw(k)}`),
      sql`, `,
    )},
    ${t}.tracking_fields, ${t}.campaign`;
}

/**
 * One contribution row per click `c` out of its lander hit `l`: the lander's dimensions (a click
 * counts for the lander: CTR = clicks ÷ lander views), in the hour of the click, split by whether the
 * clicker is a bot. A click is a hit whose previous hit is a lander hit on another node (an action
 * link, or the tag on the next page); a reload of the lander is not one. The caller joins `l`.
 */
function clickContribution(c: string, l: string): SQL {
  const click = sql.raw(c);
  const dims = HIT_ROLLUP_DIMENSIONS.map((d) => sql.raw(d === "is_bot" ? `${c}.${d}` : `${l}.${d}`));
  return sql`${sql.raw(l)}.workspace_id,
    date_trunc('hour', ${click}.created_at at time zone 'UTC') at time zone 'UTC' as hour,
    ${sql.join(dims, sql`, `)},
    ${sql.raw(HIT_ROLLUP_MEASURES.map((k) => `${k === "action_clicks" ? 1 : 0} as ${k}`).join(", "))},
    ${sql.raw(`${l}.tracking_fields, ${l}.campaign`)}`;
}

/** The lander hit `l` a click `c` leaves (see clickContribution), as a join condition. */
const leavesLander = (c: string, l: string) =>
  sql.raw(`${l}.workspace_id = ${c}.workspace_id and ${l}.id = ${c}.prev_hit_id
    and ${l}.page_kind = 'lander' and ${l}.node_id <> ${c}.node_id`);

/**
 * The visits-by-field rollups' dimensions after (workspace, hour or day, field name), in key order:
 * only what a field is drilled with (see fieldRollupsHourly). A field crossed with a visit dimension
 * left out here is read from the rollups by visit tuple (tupleRollupsAnswer in reports.ts).
 */
const FIELD_ROLLUP_COLUMNS = [
  "funnel_id",
  "node_id",
  "page_id",
  "page_kind",
  "traffic_source_id",
  "is_bot",
] as const satisfies readonly (typeof HIT_ROLLUP_DIMENSIONS)[number][];

/**
 * Sums contribution rows (the relation `contributions` names, a CTE) into visit rollup rows,
 * visits-by-field rollup rows and visits-by-tuple rollup rows, and writes them (adding to rows
 * already there in "add" mode): data-modifying CTEs, `visit_sums`, `field_sums` and `tuple_sums`
 * (and, with `days`, `field_day_sums` and `tuple_day_sums`), each returning one row per rollup row
 * written. The contributions are summed once, by visit tuple (the finest key: every visit dimension
 * and the fields); the visit rows, the field rows and the day rows are sums of those sums, not
 * passes over every contribution again: every count is a sum, so the order of summing changes
 * nothing, and a tuple row is a fraction of the contributions it sums (and carries its fields as
 * the object the field rows are read from). A rebuild of hours that are not one whole UTC day
 * ("insert" without `days`) sums the days of field_rollups_daily and visit_tuple_rollups_daily again
 * afterwards (rebuildFieldDays): a day's other hours are not in its contributions.
 */
function insertVisitSums(contributions: string, mode: "add" | "insert", days = mode === "add"): SQL {
  const key = ["workspace_id", "hour", ...HIT_ROLLUP_DIMENSIONS];
  const fieldKey = ["workspace_id", "hour", "field_name", ...FIELD_ROLLUP_COLUMNS, "field_value"];
  const dayKey = ["workspace_id", "day", "field_name", ...FIELD_ROLLUP_COLUMNS, "field_value"];
  const tupleKey = ["workspace_id", "hour", ...HIT_ROLLUP_DIMENSIONS, "fields"];
  const tupleDayKey = ["workspace_id", "day", ...HIT_ROLLUP_DIMENSIONS, "fields"];
  const sums = sql.join(
    HIT_ROLLUP_MEASURES.map((k) => sql.raw(`sum(x.${k})${k === "cost" ? "" : "::int"} as ${k}`)),
    sql`, `,
  );
  const upsert = (constraint: string) =>
    mode === "add"
      ? sql`on conflict on constraint ${sql.raw(constraint)} do update set
              ${sql.raw(HIT_ROLLUP_MEASURES.map((k) => `${k} = r.${k} + excluded.${k}`).join(", "))},
              updated_at = now()`
      : sql``;
  // Key order when adding, so rollup rows are always locked in one order.
  const inOrder = (k: readonly string[]) => (mode === "add" ? sql`order by ${columns(k, "x")}` : sql``);
  const byDay = (relation: string) =>
    sql.raw(
      `(select date_trunc('day', x.hour at time zone 'UTC') at time zone 'UTC' as day, x.* from ${relation} x)`,
    );
  return sql`
    tuple_groups as materialized (
      select ${columns(tupleKey, "x")}, ${sums}
      from (select c.*, ${tupleFieldsOf("c")} as fields from ${sql.raw(contributions)} c) x
      group by ${columns(tupleKey, "x")}
    ),
    tuple_sums as (
      insert into visit_tuple_rollups_hourly as r (${columns(tupleKey)}, ${columns(HIT_ROLLUP_MEASURES)})
      select ${columns(tupleKey, "x")}, ${columns(HIT_ROLLUP_MEASURES, "x")}
      from tuple_groups x
      ${inOrder(tupleKey)}
      ${upsert("visit_tuple_rollups_hourly_key")}
      returning 1
    ),
    visit_sums as (
      insert into hit_rollups_hourly as r (${columns(key)}, ${columns(HIT_ROLLUP_MEASURES)})
      select ${columns(key, "x")}, ${sums}
      from tuple_groups x
      group by ${columns(key, "x")}
      ${inOrder(key)}
      ${upsert("hit_rollups_hourly_key")}
      returning 1
    ),
    field_groups as materialized (
      select ${columns(fieldKey, "x")}, ${sums}
      from (select ${columns(
        fieldKey.filter((c) => c !== "field_name" && c !== "field_value"),
        "t",
      )}, ${columns(HIT_ROLLUP_MEASURES, "t")}, f.field_name, f.field_value
            from tuple_groups t cross join lateral ${tupleFields("t")} f) x
      group by ${columns(fieldKey, "x")}
    ),
    field_sums as (
      insert into field_rollups_hourly as r (${columns(fieldKey)}, ${columns(HIT_ROLLUP_MEASURES)})
      select ${columns(fieldKey, "x")}, ${columns(HIT_ROLLUP_MEASURES, "x")}
      from field_groups x
      ${inOrder(fieldKey)}
      ${upsert("field_rollups_hourly_key")}
      returning 1
    )${
      days
        ? sql`,
    tuple_day_sums as (
      insert into visit_tuple_rollups_daily as r (${columns(tupleDayKey)}, ${columns(HIT_ROLLUP_MEASURES)})
      select ${columns(tupleDayKey, "x")}, ${sums}
      from ${byDay("tuple_groups")} x
      group by ${columns(tupleDayKey, "x")}
      ${inOrder(tupleDayKey)}
      ${upsert("visit_tuple_rollups_daily_key")}
      returning 1
    ),
    field_day_sums as (
      insert into field_rollups_daily as r (${columns(dayKey)}, ${columns(HIT_ROLLUP_MEASURES)})
      select ${columns(dayKey, "x")}, ${sums}
      from ${byDay("field_groups")} x
      group by ${columns(dayKey, "x")}
      ${inOrder(dayKey)}
      ${upsert("field_rollups_daily_key")}
      returning 1
    )`
        : sql``
    }`;
}

/**
 * Sums field_rollups_hourly again into field_rollups_daily, and visit_tuple_rollups_hourly into its
 * days, for every UTC day [from, to) overlaps (a rebuild of some hours changes their days), in the
 * rebuild's transaction, after its hours.
 */
async function rebuildFieldDays(
  tx: Executor,
  range: RecomputeRange,
  workspaceId: string | undefined,
): Promise<void> {
  const from = new Date(Math.floor(range.from.getTime() / DAY_MS) * DAY_MS).toISOString();
  const to = new Date(Math.ceil(range.to.getTime() / DAY_MS) * DAY_MS).toISOString();
  const onWorkspace = workspaceId ? sql`and workspace_id = ${workspaceId}` : sql``;
  const dayKey = ["workspace_id", "day", "field_name", ...FIELD_ROLLUP_COLUMNS, "field_value"];
  await tx.execute(
    sql`delete from field_rollups_daily where day >= ${from}::timestamptz and day < ${to}::timestamptz ${onWorkspace}`,
  );
  await tx.execute(sql`
    insert into field_rollups_daily (${columns(dayKey)}, ${columns(HIT_ROLLUP_MEASURES)})
    select ${columns(dayKey, "x")}, ${sql.join(
      HIT_ROLLUP_MEASURES.map((k) => sql.raw(`sum(x.${k})${k === "cost" ? "" : "::int"}`)),
      sql`, `,
    )}
    from (select date_trunc('day', h.hour at time zone 'UTC') at time zone 'UTC' as day, h.*
          from field_rollups_hourly h
          where h.hour >= ${from}::timestamptz and h.hour < ${to}::timestamptz ${workspaceId ? sql`and h.workspace_id = ${workspaceId}` : sql``}) x
    group by ${columns(dayKey, "x")}`);
  await sumDays(
    tx,
    "visit_tuple_rollups",
    ["workspace_id", "day", ...HIT_ROLLUP_DIMENSIONS, "fields"],
    HIT_ROLLUP_MEASURES,
    {
      from,
      to,
      workspaceId,
    },
  );
}

/**
 * Sums `<table>_hourly` again into `<table>_daily` for the UTC days [from, to) (whole days), one
 * workspace or all: the day rows are deleted and inserted again from their hours. Rows summing to
 * nothing are left out, as a rebuild of the hours leaves them out.
 */
async function sumDays(
  tx: Executor,
  table: "visit_tuple_rollups" | "conversion_tuple_rollups" | "conversion_time_tuple_rollups",
  dayKey: readonly string[],
  measures: readonly string[],
  range: { from: string; to: string; workspaceId: string | undefined },
): Promise<void> {
  const onWorkspace = range.workspaceId ? sql`and workspace_id = ${range.workspaceId}` : sql``;
  const sums = measures.map((k) => sql.raw(`sum(x.${k})${k === "cost" || k === "revenue" ? "" : "::int"}`));
  await tx.execute(
    sql`delete from ${sql.raw(`${table}_daily`)} where day >= ${range.from}::timestamptz and day < ${range.to}::timestamptz ${onWorkspace}`,
  );
  await tx.execute(sql`
    insert into ${sql.raw(`${table}_daily`)} (${columns(dayKey)}, ${columns(measures)})
    select ${columns(dayKey, "x")}, ${sql.join(sums, sql`, `)}
    from (select date_trunc('day', h.hour at time zone 'UTC') at time zone 'UTC' as day, h.*
          from ${sql.raw(`${table}_hourly`)} h
          where h.hour >= ${range.from}::timestamptz and h.hour < ${range.to}::timestamptz
            ${range.workspaceId ? sql`and h.workspace_id = ${range.workspaceId}` : sql``}) x
    group by ${columns(dayKey, "x")}
    having ${sql.raw(measures.map((k) => `sum(x.${k}) <> 0`).join(" or "))}`);
}

/**
 * The tracking fields of a contribution row `a` as (field_name, field_value) rows: every named value
 * of its tracking_fields, and its campaign column as the field `campaign` unless tracking_fields has
 * one. Exactly what a report reads from raw hits (fieldValue in reports.ts); a field without a
 * value is no row. And one more row for every contribution, the field EVERY_VISIT_FIELD: the rollups
 * by field then hold their own totals, which a report by field subtracts its field's rows from for
 * the "(none)" row, instead of reading the much wider visit and conversion rollups for them.
 */
function visitFields(a: string): SQL {
  const t = sql.raw(a);
  const campaign = sql`coalesce(${t}.tracking_fields ->> ${CAMPAIGN_FIELD}, ${t}.campaign)`;
  return sql`(
    select e.key as field_name, e.value as field_value
    from jsonb_each_text(case when jsonb_typeof(${t}.tracking_fields) = 'object' then ${t}.tracking_fields
                              else '{}'::jsonb end) e
    where e.value is not null and e.key <> ${CAMPAIGN_FIELD} and e.key <> ${EVERY_VISIT_FIELD}
    union all
    select ${CAMPAIGN_FIELD}, ${campaign} where ${campaign} is not null
    union all
    select ${EVERY_VISIT_FIELD}, ${EVERY_VISIT_FIELD})`;
}

/**
 * The tracking fields of a row `a` as the rollups by tuple key them: its tracking_fields object
 * (nothing unless an object) without the unnamed field, the campaign set as visitFields names it
 * (tracking_fields' own unless null, else the campaign column). A report reads a field as
 * `fields ->> name`, exactly what fieldValue reads from a raw hit (a number, an object or a JSON null
 * reads the same from both). One expression per row, not visitFields' set aggregated back: that cost
 * a rebuild about 6 µs a hit.
 */
function tupleFieldsOf(a: string): SQL {
  const t = sql.raw(a);
  const campaign = sql`coalesce(${t}.tracking_fields ->> ${CAMPAIGN_FIELD}, ${t}.campaign)`;
  return sql`((case when jsonb_typeof(${t}.tracking_fields) = 'object'
                   then ${t}.tracking_fields - ${EVERY_VISIT_FIELD}::text - ${CAMPAIGN_FIELD}::text
                   else '{}'::jsonb end)
    || (case when ${campaign} is not null then jsonb_build_object(${CAMPAIGN_FIELD}::text, ${campaign})
             else '{}'::jsonb end))`;
}

/**
 * visitFields of the contributions a visit tuple row `a` sums, read from its `fields` (tupleFieldsOf):
 * the object holds every named field visitFields gives, the campaign as visitFields takes it
 * among them, and neither the unnamed field nor a second campaign; a JSON null reads as no value in
 * both. And the every-visit field's row, as there.
 */
function tupleFields(a: string): SQL {
  const t = sql.raw(a);
  return sql`(
    select e.key as field_name, e.value as field_value
    from jsonb_each_text(${t}.fields) e
    where e.value is not null
    union all
    select ${EVERY_VISIT_FIELD}, ${EVERY_VISIT_FIELD})`;
}

/** A watermark read from rollup_watermarks: `xmin:xmax:xip,…`. */
interface Watermark {
  text: string;
  xmax: string;
  xip: string[];
}

function parseSnapshot(text: string): Watermark {
  const [, xmax = "", xip = ""] = text.split(":");
  return { text, xmax, xip: xip === "" ? [] : xip.split(",") };
}

/** True for a hit `a` the watermark shows (rows from before ingest_xid existed always). */
function shownBy(a: string, mark: Watermark | null): SQL {
  if (!mark) return sql`true`;
  const t = sql.raw(a);
  return sql`(${t}.ingest_xid is null or pg_visible_in_snapshot(${t}.ingest_xid, ${mark.text}::pg_snapshot))`;
}

async function lockHitRollups(tx: Executor, wait: boolean): Promise<boolean> {
  if (wait) {
    await tx.execute(sql`select pg_advisory_xact_lock(${HIT_ROLLUP_LOCK})`);
    return true;
  }
  const [row] = await tx.execute<{ locked: boolean }>(
    sql`select pg_try_advisory_xact_lock(${HIT_ROLLUP_LOCK}) as locked`,
  );
  return row?.locked === true;
}

// Whether row-level security lets this connection see every workspace's hits: the maintenance role,
// or a superuser. A sweep on any other role would move the watermark past hits it cannot see.
const SEES_EVERY_WORKSPACE = sql`(select rolsuper or rolbypassrls from pg_roles where rolname = current_user)
  or pg_has_role(current_user, 'hitrail_maintenance', 'member')`;

async function seesEveryWorkspace(db: Executor): Promise<boolean> {
  const [row] = await db.execute<{ all: boolean }>(sql`select ${SEES_EVERY_WORKSPACE} as all`);
  return row?.all === true;
}

async function readWatermark(tx: Executor): Promise<Watermark | null> {
  const [row] = await tx.execute<{ snapshot: string | null }>(
    sql`select snapshot::text as snapshot from rollup_watermarks where stream = 'hits'`,
  );
  return row?.snapshot ? parseSnapshot(row.snapshot) : null;
}

/**
 * Rebuilds visit rollups for every hour in [from, to) from raw hits, as of the sweep's watermark:
 * a day per transaction, which deletes the day's rows and inserts them again. Without
 * `workspaceId` it covers every workspace. On a role that sees every workspace it sweeps first, so
 * the rebuilt hours hold every hit committed until then; on the app role (one workspace) hits
 * committed after the watermark are left to the worker's next sweep.
 */
export async function recomputeHitRollups(
  db: Database,
  input: {
    workspaceId?: string;
    /** Days rebuilt at once (default 2). */
    parallel?: number;
  } & RecomputeRange,
): Promise<{ hours: number; rows: number }> {
  const { from, to, hours } = hoursOf(input);
  if (await seesEveryWorkspace(db)) await sweepHitRollups(db, { wait: true });
  let rows = 0;
  // A UTC day per transaction (utcDays): a sweep waits for at most the days being rebuilt. Days
  // `parallel` at a time, each on a connection of the pool (and so a core of the server): their
  // rows are apart (hours and days of their own), and each holds the visit rollups' lock shared and
  // its day's lock alone, so sweeps, backfills and a rebuild of the same day still never interleave
  // with it.
  const days = utcDays({ from, to });
  let failed = false;
  const worker = async () => {
    for (let day = days.shift(); day && !failed; day = days.shift()) {
      const chunk = day;
      try {
        // (Not `rows += await …`: that reads `rows` before the wait, and loses another worker's days.)
        const written = await withRetry(() =>
          db.transaction(async (tx) => {
            await tx.execute(sql`select pg_advisory_xact_lock_shared(${HIT_ROLLUP_LOCK})`);
            await tx.execute(
              sql`select pg_advisory_xact_lock(${HIT_REBUILD_DAY_LOCK}, ${Math.floor(chunk.from.getTime() / DAY_MS)}::int)`,
            );
            return rebuildDay(tx, chunk);
          }),
        );
        rows += written;
      } catch (error) {
        failed = true; // the other workers start no other day
        throw error;
      }
    }
  };
  const rebuildDay = async (tx: Executor, chunk: RecomputeRange) => {
    await tx.execute(sql`set local jit = off`);
    // A day's hits numbered per visitor, joined to the landers they leave and summed per rollup
    // row: in memory, not in sorts and hashes spilled to disk (a day of 333,000 hits spilled 200 MB
    // at 64 MB).
    await tx.execute(sql`set local work_mem = '256MB'`);
    // The planner cannot size the day's hits (a CTE) nor its visitors (an array): it guessed a
    // tenth, probed the visitor index in visitor order, a heap page per hit (313,000 pages read for
    // a day), where a bitmap reads each page once, in order; and it sorted the day's wide lander
    // rows for a merge join with the clicks, where a hash of them fits in work_mem; and it sorted
    // the day's contributions (text and JSON keys) to sum them by visit tuple, where a hash of the
    // sums took a third of the time. A sort is still used where nothing else can be (windows).
    await tx.execute(sql`set local enable_indexscan = off`);
    await tx.execute(sql`set local enable_mergejoin = off`);
    await tx.execute(sql`set local enable_sort = off`);
    if (input.workspaceId) {
      await tx.execute(sql`select set_config('hitrail.workspace_id', ${input.workspaceId}, true)`);
    }
    return rebuildHitRange(tx, chunk, await readWatermark(tx), input.workspaceId);
  };
  // Every worker runs to its end before an error is thrown: none is left writing behind it.
  const ran = await Promise.allSettled(Array.from({ length: Math.max(1, input.parallel ?? 2) }, worker));
  for (const r of ran) if (r.status === "rejected") throw r.reason;
  return { hours, rows };
}

/** Deletes the visit rollups of the whole hours in [from, to) and inserts them again from raw hits. */
async function rebuildHitRange(
  tx: Executor,
  range: RecomputeRange,
  mark: Watermark | null,
  workspaceId: string | undefined,
): Promise<number> {
  const from = range.from.toISOString();
  const to = range.to.toISOString();
  const onWorkspace = (column: SQL) => (workspaceId ? sql`and ${column} = ${workspaceId}` : sql``);
  await tx.execute(
    sql`delete from hit_rollups_hourly where hour >= ${from}::timestamptz and hour < ${to}::timestamptz
        ${onWorkspace(sql`workspace_id`)}`,
  );
  await tx.execute(
    sql`delete from field_rollups_hourly where hour >= ${from}::timestamptz and hour < ${to}::timestamptz
        ${onWorkspace(sql`workspace_id`)}`,
  );
  await tx.execute(
    sql`delete from visit_tuple_rollups_hourly where hour >= ${from}::timestamptz and hour < ${to}::timestamptz
        ${onWorkspace(sql`workspace_id`)}`,
  );
  // One whole UTC day (a recompute's days but its first and last): its day rows are the sums of the
  // hours this statement writes, summed from them in it, instead of read back from the hour tables.
  const wholeDay =
    range.from.getTime() % DAY_MS === 0 && range.to.getTime() - range.from.getTime() === DAY_MS;
  if (wholeDay) {
    await tx.execute(
      sql`delete from field_rollups_daily where day = ${from}::timestamptz ${onWorkspace(sql`workspace_id`)}`,
    );
    await tx.execute(
      sql`delete from visit_tuple_rollups_daily where day = ${from}::timestamptz ${onWorkspace(sql`workspace_id`)}`,
    );
  }
  // A visit is unique when the visitor has no earlier hit on the node (in the funnel): hits never
  // change, so rebuilding an hour as of one watermark always gives the same answer. Across
  // workspaces, the id range (a day either side) lets Postgres prune hit partitions: ids are UUIDv7
  // minted when the visit happened, the same moment as created_at. For one workspace its
  // (workspace_id, created_at) index finds the rows alone; with the id range too the planner ANDs
  // in a bitmap of three days of every workspace's ids (a third of the rebuild's time in
  // `pnpm bench report`).
  const byTime = workspaceId
    ? sql`and h.workspace_id = ${workspaceId}`
    : sql`and h.id >= hitrail_uuid7_floor(${from}::timestamptz - interval '1 day')
          and h.id < hitrail_uuid7_floor(${to}::timestamptz + interval '1 day')`;
  // First visits as sets, not a look at the visitor's earlier hits per hit: every hit the watermark
  // shows of the range's visitors, up to the range's last id (one index probe per visitor, wherever
  // in time their hits are), numbered per visitor and node (and funnel) by id. A range hit is its
  // visitor's first on the node when it is number one: no shown hit of the visitor on the node has a
  // smaller id, exactly what the sweep asks of each hit it adds. Hits after the range's last id
  // cannot come first, so they are not read.
  const inserted = await tx.execute<{ n: number }>(sql`
    with range_hits as materialized (
        select h.* from hits h
        where h.created_at >= ${from}::timestamptz and h.created_at < ${to}::timestamptz
          ${byTime}
          and ${shownBy("h", mark)}
    ),
    visitor_hits as (
        -- The visitors as one array: one bitmap scan of each partition's visitor index, which
        -- reads the heap pages in order, instead of an index probe per visitor into every partition.
        select p.id, p.visitor_id, p.node_id, p.funnel_id
        from hits p
        where p.visitor_id = any(array(select distinct visitor_id from range_hits))
          and p.id <= (select max_h.id from range_hits max_h order by max_h.id desc limit 1) and ${shownBy("p", mark)}
    ),
    firsts as (
        select id, row_number() over (partition by visitor_id, node_id order by id) = 1 as node_first,
               row_number() over (partition by visitor_id, funnel_id order by id) = 1 as funnel_first
        from visitor_hits
    ),
    -- Read once (by insertVisitSums' sum by visit tuple): not materialized, so not written to a
    -- tuplestore (and to disk) first.
    contributions as (
        select ${visitContribution("h", {
          counted: sql`1`,
          uniqueNode: sql`f.node_first::int`,
          uniqueFunnel: sql`f.funnel_first::int`,
        })}
        from range_hits h join firsts f on f.id = h.id
        union all
        -- A click leaves a lander hit most often of the same range (seconds before it): joined in
        -- the set; any other (an earlier hour, or one the watermark does not show) by its id.
        select ${clickContribution("h", "l")}
        from range_hits h join range_hits l on ${leavesLander("h", "l")}
        union all
        -- (Its id probed once per such click: joined, the planner hashed the whole partition.)
        select ${clickContribution("h", "l")}
        from range_hits h cross join lateral (select * from hits l where ${leavesLander("h", "l")} offset 0) l
        where h.prev_hit_id is not null and not exists (select from range_hits r where r.id = h.prev_hit_id)
    ),
    ${insertVisitSums("contributions", "insert", wholeDay)}
    select (select count(*) from visit_sums)::int as n, (select count(*) from field_sums)::int as fields,
           (select count(*) from tuple_sums)::int as tuples
           ${wholeDay ? sql`, (select count(*) from field_day_sums)::int as days, (select count(*) from tuple_day_sums)::int as tuple_days` : sql``}`);
  if (!wholeDay) await rebuildFieldDays(tx, range, workspaceId);
  return Number(inserted[0]?.n ?? 0);
}

export type SweepOutcome =
  | { status: "swept"; hits: number; rows: number }
  /** The first sweep: rebuilt the recent hours as of its snapshot, which becomes the watermark. */
  | { status: "started"; hours: number; rows: number }
  /** Another sweep or a rebuild holds the lock; the next pass picks up the rows. */
  | { status: "busy" };

/**
 * Adds the hits committed since the last sweep to the visit rollups, every workspace at once, and
 * moves the watermark: what keeps a visit in the report seconds after its click. Run on the
 * maintenance role (row-level security would hide other workspaces' hits from any other).
 */
export async function sweepHitRollups(
  db: Database,
  opts: {
    now?: Date;
    /** Hours the first sweep rebuilds (default the current and the previous one). */
    firstHours?: number;
    /** Wait for the lock instead of answering `busy`. */
    wait?: boolean;
  } = {},
): Promise<SweepOutcome> {
  return withRetry(() =>
    db.transaction(async (tx) => {
      if (!(await seesEveryWorkspace(tx))) {
        throw new Error(
          "the visit rollup sweep needs a role that sees every workspace (the maintenance role)",
        );
      }
      if (!(await lockHitRollups(tx, opts.wait === true))) return { status: "busy" } as const;
      const mark = await readWatermark(tx);
      if (!mark) return startSweeping(tx, opts.now ?? new Date(), opts.firstHours ?? 2);
      // The sweep reads a few thousand rows through indexes (by ingest_xid, by visitor, by id) out
      // of millions. Before autovacuum has analyzed a young or fast-growing hits table, the planner
      // guesses a third of it matches `ingest_xid >= …` and scans it whole, every second. And its
      // cost estimate then passes the JIT thresholds: compiling the statement took 5 of a pass's 6 s
      // under the click benchmark's load, for a statement that runs in a few hundred ms.
      await tx.execute(sql`set local enable_seqscan = off`);
      await tx.execute(sql`set local jit = off`);
      const fresh = mark.xip.length
        ? sql`h.ingest_xid >= ${mark.xmax}::xid8 or h.ingest_xid = any(${`{${mark.xip.join(",")}}`}::xid8[])`
        : sql`h.ingest_xid >= ${mark.xmax}::xid8`;
      // The hits the statement's snapshot shows and the watermark did not, each with what its
      // visitor's other hits say: was it the first on its node (in its funnel), and which hit, if
      // any, was counted first before it and no longer is.
      const [result] = await tx.execute<{ hits: number; rows: number }>(sql`
        with fresh as materialized (
          select h.id, h.workspace_id, h.visitor_id, h.created_at, ${columns(HIT_ROLLUP_DIMENSIONS, "h")},
                 h.cost, h.prev_hit_id, h.tracking_fields, h.campaign
          from hits h where ${fresh}
        ),
        seen as materialized (
          select f.*, s.* from fresh f cross join lateral (
            select coalesce(bool_or(p.node_id = f.node_id and p.id < f.id), false) as node_before,
                   coalesce(bool_or(p.funnel_id = f.funnel_id and p.id < f.id), false) as funnel_before,
                   (array_agg(p.id order by p.id) filter (
                     where p.node_id = f.node_id and p.id > f.id and ${shownBy("p", mark)}))[1] as node_displaced,
                   (array_agg(p.id order by p.id) filter (
                     where p.funnel_id = f.funnel_id and p.id > f.id and ${shownBy("p", mark)}))[1] as funnel_displaced
            from hits p where p.visitor_id = f.visitor_id) s
        ),
        contributions as materialized (
              select ${visitContribution("f", {
                counted: sql`1`,
                uniqueNode: sql`(not f.node_before)::int`,
                uniqueFunnel: sql`(not f.funnel_before)::int`,
              })} from seen f
              union all
              select ${visitContribution("o", { counted: sql`0`, uniqueNode: sql`-1`, uniqueFunnel: sql`0` })}
              from seen f cross join lateral (select * from hits o where o.id = f.node_displaced) o
              where not f.node_before and f.node_displaced is not null
              union all
              select ${visitContribution("o", { counted: sql`0`, uniqueNode: sql`0`, uniqueFunnel: sql`-1` })}
              from seen f cross join lateral (select * from hits o where o.id = f.funnel_displaced) o
              where not f.funnel_before and f.funnel_displaced is not null
              union all
              select ${clickContribution("f", "l")}
              from seen f join hits l on ${leavesLander("f", "l")}
        ),
        ${insertVisitSums("contributions", "add")},
        moved as (
          update rollup_watermarks
          set snapshot = pg_current_snapshot(), swept_at = now(), rows = rows + (select count(*) from fresh),
              updated_at = now()
          where stream = 'hits'
          returning 1
        )
        select (select count(*) from fresh)::int as hits, (select count(*) from visit_sums)::int as rows,
               (select count(*) from moved)::int as moved`);
      return { status: "swept", hits: Number(result?.hits ?? 0), rows: Number(result?.rows ?? 0) } as const;
    }),
  );
}

/**
 * The first sweep ever (or after the watermark row was removed): hits written before then were
 * counted by hourly rebuilds, up to the current and previous hour. It rebuilds those hours as of its
 * own snapshot and makes that snapshot the watermark, so the next sweep starts where it stopped.
 */
async function startSweeping(tx: Executor, now: Date, hours: number): Promise<SweepOutcome> {
  const [snap] = await tx.execute<{ snapshot: string }>(sql`select pg_current_snapshot()::text as snapshot`);
  if (!snap) throw new Error("pg_current_snapshot() returned nothing");
  const mark = parseSnapshot(snap.snapshot);
  const current = floorHour(now).getTime();
  const recent = { from: new Date(current - (hours - 1) * HOUR_MS), to: new Date(current + HOUR_MS) };
  const rows = await rebuildHitRange(tx, recent, mark, undefined);
  await tx.execute(sql`
    insert into rollup_watermarks (stream, snapshot, swept_at) values ('hits', ${mark.text}::pg_snapshot, now())
    on conflict (stream) do update set snapshot = excluded.snapshot, swept_at = excluded.swept_at, updated_at = now()`);
  return { status: "started", hours, rows };
}

export type BackfillOutcome =
  /** Rebuilt the hours [from, to); `remaining` hours (down to the oldest hit's) are left. */
  | { status: "backfilled"; from: Date; to: Date; rows: number; remaining: number }
  /** Reached the oldest hit: nothing is left to backfill. */
  | { status: "done" }
  /** Nothing to backfill (none was asked for, or it finished before). */
  | { status: "idle" }
  /** A sweep, a rebuild or another worker's backfill holds the lock; try again later. */
  | { status: "busy" };

/**
 * One bounded step of the backfill after an upgrade that added a rollup (rollup_watermarks
 * .backfill_before, set by the migration when the database had hits): rebuilds the visit rollups,
 * and with them the visits-by-field rollup, of the `hours` hours below that mark, as of the sweep's
 * watermark, and moves the mark down, in one transaction under the sweep's lock. Newest hours first,
 * as reports read them most. Rebuilding an hour is idempotent, so a step that rolls back, or a
 * second worker, does no harm; visit rollup hours an old database lacked are filled too.
 */
export async function backfillRollups(
  db: Database,
  opts: { hours?: number; wait?: boolean } = {},
): Promise<BackfillOutcome> {
  const hours = opts.hours ?? 6;
  return withRetry(() =>
    db.transaction(async (tx) => {
      if (!(await seesEveryWorkspace(tx))) {
        throw new Error("the rollup backfill needs a role that sees every workspace (the maintenance role)");
      }
      const [pending] = await tx.execute<{ before: string | null }>(
        sql`select backfill_before::text as before from rollup_watermarks where stream = 'hits'`,
      );
      if (!pending?.before) return { status: "idle" } as const;
      if (!(await lockHitRollups(tx, opts.wait === true))) return { status: "busy" } as const;
      const [row] = await tx.execute<{ before: string | null; oldest: string | null }>(sql`
        select backfill_before::text as before,
               -- Per workspace, from its (workspace_id, created_at) index: a scan for the oldest hit
               -- of every workspace at once would read them all.
               (select min(o.at) from workspaces w
                  cross join lateral (select min(h.created_at) as at from hits h where h.workspace_id = w.id) o
               )::text as oldest
        from rollup_watermarks where stream = 'hits' for update`);
      const before = row?.before ? new Date(row.before) : null;
      if (!before) return { status: "idle" } as const;
      const oldest = row?.oldest ? floorHour(new Date(row.oldest)) : null;
      const done = async () => {
        await tx.execute(
          sql`update rollup_watermarks set backfill_before = null, updated_at = now() where stream = 'hits'`,
        );
        return { status: "done" } as const;
      };
      if (!oldest || before.getTime() <= oldest.getTime()) return done();
      // Rebuilt hours must meet the sweep's watermark; before the first sweep there is none.
      const mark = await readWatermark(tx);
      if (!mark) return { status: "busy" } as const;
      await tx.execute(sql`set local jit = off`);
      const from = new Date(Math.max(oldest.getTime(), before.getTime() - hours * HOUR_MS));
      const rows = await rebuildHitRange(tx, { from, to: before }, mark, undefined);
      // And the conversions by field of those hours (their ledgers too), as a recompute would:
      // with every other ledger writer kept out meanwhile.
      await tx.execute(sql`lock table conversion_rollup_state in share row exclusive mode`);
      await rebuildFieldConversionRange(tx, { from, to: before }, undefined);
      await tx.execute(sql`
        update rollup_watermarks set backfill_before = ${from.toISOString()}::timestamptz, updated_at = now()
        where stream = 'hits'`);
      const remaining = Math.round((from.getTime() - oldest.getTime()) / HOUR_MS);
      return { status: "backfilled", from, to: before, rows, remaining } as const;
    }),
  );
}

/** The sweep's watermark: when it last ran (null before the first sweep). */
export async function hitSweepWatermark(
  db: Executor,
): Promise<{ sweptAt: Date | null; rows: number } | null> {
  const [row] = await db
    .select({ sweptAt: rollupWatermarks.sweptAt, rows: rollupWatermarks.rows })
    .from(rollupWatermarks)
    .where(eq(rollupWatermarks.stream, "hits"));
  return row ?? null;
}

// ---------------------------------------------------------------------------------------------
// Conversion rollups: a sweep of the revisions committed since its watermark.
//
// Every conversion change writes a revision row carrying the id of its transaction (ingest_xid).
// rollup_watermarks.conversions holds the snapshot of the last sweep, exactly as for hits: a sweep
// reads, in one statement and so in one snapshot, the revisions its snapshot shows and the
// watermark's did not (a revision of a transaction still open at the last sweep is in its xip and is
// read once it commits), and moves the watermark to its snapshot in the same statement. The
// conversions those revisions name are brought up to date through their ledgers
// (conversion_rollup_state), as sets: what applyConversionRollup does one at a time. The ledger is
// what makes it exactly-once whoever else applies a conversion (a `rollup.conversion` job queued
// before the upgrade, a recompute, an import's settle): a conversion whose ledger already holds its
// revision adds nothing.

/** Serializes sweeps among themselves (a second one answers `busy` instead of queueing). */
const CONVERSION_SWEEP_LOCK = sql`${0x6869_7472}::int, 2`; // "hitr", 2

export type ConversionSweepOutcome =
  /** `revisions` read since the watermark; `conversions` whose ledger was behind were applied. */
  | { status: "swept"; revisions: number; conversions: number; rows: number }
  /** Another sweep holds the lock; the next pass picks the revisions up. */
  | { status: "busy" };

/**
 * Applies the conversion changes committed since the last sweep to the conversion rollups, every
 * workspace at once, in one statement, and moves the watermark in it: what puts a conversion in the
 * report a fraction of a second after its postback's 200. Revisions of imports are left out: an
 * import settles its conversions' ledgers and rebuilds its range once at the end (a sweep reading
 * them too would only do the same work twice; the ledger would keep the sums right). Run on the
 * maintenance role.
 */
export async function sweepConversionRollups(
  db: Database,
  opts: { /** Wait for the lock instead of answering `busy`. */ wait?: boolean } = {},
): Promise<ConversionSweepOutcome> {
  return withRetry(() =>
    db.transaction(async (tx) => {
      if (!(await seesEveryWorkspace(tx))) {
        throw new Error(
          "the conversion rollup sweep needs a role that sees every workspace (the maintenance role)",
        );
      }
      if (opts.wait) await tx.execute(sql`select pg_advisory_xact_lock(${CONVERSION_SWEEP_LOCK})`);
      else {
        const [lock] = await tx.execute<{ locked: boolean }>(
          sql`select pg_try_advisory_xact_lock(${CONVERSION_SWEEP_LOCK}) as locked`,
        );
        if (lock?.locked !== true) return { status: "busy" } as const;
      }
      // Against the other ledger writers (jobs, recomputes, import settles), taken before the
      // statement's snapshot: the sweep sees every one that finished first and none runs meanwhile.
      await tx.execute(sql`lock table conversion_rollup_state in share row exclusive mode`);
      // As for the visit sweep: a few hundred rows by index out of millions; a young table's
      // statistics would otherwise pick sequential scans, and JIT would outlast the statement.
      await tx.execute(sql`set local enable_seqscan = off`);
      await tx.execute(sql`set local jit = off`);
      const [row] = await tx.execute<{ snapshot: string | null }>(
        sql`select snapshot::text as snapshot from rollup_watermarks where stream = 'conversions'`,
      );
      // No watermark (the row was removed): every revision with an ingest_xid; the ledgers skip
      // what was applied already.
      const mark = row?.snapshot ? parseSnapshot(row.snapshot) : null;
      const fresh = !mark
        ? sql`r.ingest_xid is not null`
        : mark.xip.length
          ? sql`(r.ingest_xid >= ${mark.xmax}::xid8 or r.ingest_xid = any(${`{${mark.xip.join(",")}}`}::xid8[]))`
          : sql`r.ingest_xid >= ${mark.xmax}::xid8`;
      const [result] = await tx.execute<{
        revisions: number;
        conversions: number;
        rows: number;
        stale_ids: string;
      }>(sql`
        with fresh as materialized (
          select r.conversion_id from conversion_revisions r
          where ${fresh} and r.source <> 'import'
        ),
        stale as materialized (
          select c.id, c.workspace_id, c.revision, coalesce(s.contribution, '[]'::jsonb) as applied
          from (select distinct conversion_id from fresh) f
          join conversions c on c.id = f.conversion_id
          left join conversion_rollup_state s on s.conversion_id = c.id
          where s.conversion_id is null or s.applied_revision < c.revision
        ),
        now_rows as materialized (
          select x.workspace_id, x.conversion_id, ${LEDGER_KEY}, count(*)::int as conversions, sum(x.revenue) as revenue
          from (${contributionRows(null, { conversionsOf: sql`stale` })}) x
          group by x.workspace_id, x.conversion_id, ${LEDGER_KEY}
        ),
        then_rows as (
          select st.workspace_id, (a.hour at time zone 'UTC') as hour_utc, a."funnelId" as funnel_id,
                 a."nodeId" as node_id, a."pageId" as page_id, a."trafficSourceId" as traffic_source_id, a.country,
                 a."deviceType" as device_type, a.os, a.browser, a."eventKey" as event_key,
                 a."touchKind"::touch_kind as touch_kind, a.conversions, a.revenue
          from stale st, jsonb_to_recordset(st.applied) as a(hour timestamptz, "funnelId" uuid, "nodeId" uuid,
            "pageId" uuid, "trafficSourceId" uuid, country text, "deviceType" text, os text, browser text,
            "eventKey" text, "touchKind" text, conversions int, revenue numeric)
        ),
        delta as (
          select d.workspace_id, ${LEDGER_KEY}, sum(d.conversions)::int as conversions, sum(d.revenue) as revenue
          from (
            select workspace_id, ${LEDGER_KEY}, conversions, revenue from now_rows
            union all
            select workspace_id, ${LEDGER_KEY}, -conversions, -revenue from then_rows
          ) d
          group by d.workspace_id, ${LEDGER_KEY}
          having sum(d.conversions) <> 0 or sum(d.revenue) <> 0
        ),
        added as (
          insert into conversion_rollups_hourly as r
            (workspace_id, hour, funnel_id, node_id, page_id, traffic_source_id, country, device_type, os, browser,
             event_key, touch_kind, conversions, revenue)
          select d.workspace_id, d.hour_utc at time zone 'UTC', d.funnel_id, d.node_id, d.page_id, d.traffic_source_id,
                 d.country, d.device_type, d.os, d.browser, d.event_key, d.touch_kind, d.conversions, d.revenue
          from delta d
          -- Key order, so rollup rows are always locked in one order.
          order by d.workspace_id, ${LEDGER_KEY}
          on conflict on constraint conversion_rollups_hourly_key do update
            set conversions = r.conversions + excluded.conversions,
                revenue = r.revenue + excluded.revenue,
                updated_at = now()
          returning 1
        ),
        ledgers as (
          -- The ledger in the form loadContribution gives it (see catchUpSql).
          insert into conversion_rollup_state as s (conversion_id, workspace_id, applied_revision, contribution)
          select st.id, st.workspace_id, st.revision, coalesce(
            (select jsonb_agg(jsonb_build_object(
                'hour', to_char(cur.hour_utc, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'funnelId', cur.funnel_id,
                'nodeId', cur.node_id, 'pageId', cur.page_id, 'trafficSourceId', cur.traffic_source_id,
                'country', cur.country, 'deviceType', cur.device_type, 'os', cur.os, 'browser', cur.browser,
                'eventKey', cur.event_key, 'touchKind', cur.touch_kind, 'conversions', cur.conversions,
                'revenue', trim_scale(cur.revenue)::text)
              order by ${LEDGER_KEY})
             from now_rows cur where cur.conversion_id = st.id),
            '[]'::jsonb)
          from stale st
          order by st.id
          on conflict (conversion_id) do update
            set applied_revision = excluded.applied_revision, contribution = excluded.contribution, updated_at = now()
          returning 1
        ),
        moved as (
          insert into rollup_watermarks as w (stream, snapshot, swept_at, rows)
          values ('conversions', pg_current_snapshot(), now(), (select count(*) from fresh))
          on conflict (stream) do update
            set snapshot = excluded.snapshot, swept_at = excluded.swept_at, rows = w.rows + excluded.rows,
                updated_at = now()
          returning 1
        )
        select (select count(*) from fresh)::int as revisions, (select count(*) from ledgers)::int as conversions,
               (select count(*) from added)::int as rows, (select count(*) from moved)::int as moved,
               (select coalesce(array_agg(id), '{}') from stale)::text as stale_ids`);
      // The same conversions' rows by tracking field, under the same locks (a statement later, so it
      // sees at least what the first one did).
      if (result?.stale_ids && result.stale_ids !== "{}") {
        await tx.execute(fieldSettleSql(null, sql`select unnest(${result.stale_ids}::uuid[])`));
      }
      return {
        status: "swept",
        revisions: Number(result?.revisions ?? 0),
        conversions: Number(result?.conversions ?? 0),
        rows: Number(result?.rows ?? 0),
      } as const;
    }),
  );
}

export interface RecomputeSummary {
  workspaces: number;
  hours: number;
  conversionRows: number;
  hitRows: number;
  /** Conversions whose queued rollup job had not run yet; the recompute applied them first. */
  caughtUp: number;
  /** Time from the start until the conversion rollups were done, and until the visit rollups were (side by side). */
  elapsedMs: { conversions: number; hits: number };
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
  const { hours } = hoursOf(input);
  const started = performance.now();
  // The two families share no table and no lock (the conversion ledger's table lock, the visit
  // rollups' advisory lock): rebuilt side by side, on two connections of the pool, each on a core.
  const conversions = async () => {
    for (const workspaceId of ids) {
      const r = await recomputeConversionRollups(db, { workspaceId, from: input.from, to: input.to });
      conversionRows += r.rows;
      caughtUp += r.caughtUp;
    }
    return Math.round(performance.now() - started);
  };
  const visits = async () => {
    const r = await recomputeHitRollups(db, input);
    return { rows: r.rows, ms: Math.round(performance.now() - started) };
  };
  // Both run to their end before an error of either is thrown: none is left writing behind it.
  const [converted, visited] = await Promise.allSettled([conversions(), visits()]);
  if (converted.status === "rejected") throw converted.reason;
  if (visited.status === "rejected") throw visited.reason;
  const elapsedMs = { conversions: converted.value, hits: visited.value.ms };
  return { workspaces: ids.length, hours, conversionRows, hitRows: visited.value.rows, caughtUp, elapsedMs };
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

export async function listFieldRollups(
  db: Executor,
  input: { workspaceId: string } & RecomputeRange,
): Promise<FieldRollupRow[]> {
  return db
    .select()
    .from(fieldRollupsHourly)
    .where(
      and(
        eq(fieldRollupsHourly.workspaceId, input.workspaceId),
        gte(fieldRollupsHourly.hour, input.from),
        lt(fieldRollupsHourly.hour, input.to),
      ),
    )
    .orderBy(asc(fieldRollupsHourly.hour));
}

/** The visits-by-field day rows of the UTC days starting in [from, to). */
export async function listFieldRollupDays(
  db: Executor,
  input: { workspaceId: string } & RecomputeRange,
): Promise<FieldDayRollupRow[]> {
  return db
    .select()
    .from(fieldRollupsDaily)
    .where(
      and(
        eq(fieldRollupsDaily.workspaceId, input.workspaceId),
        gte(fieldRollupsDaily.day, input.from),
        lt(fieldRollupsDaily.day, input.to),
      ),
    )
    .orderBy(asc(fieldRollupsDaily.day));
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
