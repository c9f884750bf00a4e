import {
  type CostCsvProblem,
  costUnitMicros,
  microsToMoney,
  moneyToMicros,
  normalizeMoney,
  parseCostCsv,
  quoteValue,
} from "@hitrail/core";
import { type SQL, sql } from "drizzle-orm";
import type { Executor } from "../client.ts";
import { costUpdates } from "../schema/index.ts";

// Cost updates (docs/costs.md): the visits an update covers, each visit's share, undo, and the
// rollup of how updated costs differ from what clicks carried. Every function runs inside the
// caller's workspace transaction (withWorkspace); updates of one workspace are serialized by an
// advisory lock so two never rebuild the same hours at once.

export type CostUpdateRow = typeof costUpdates.$inferSelect;

export interface CostScope {
  trafficSourceId?: string | null;
  funnelId?: string | null;
  /** A tracking field and its value (zone, campaign…). */
  field?: { name: string; value: string } | null;
}

export interface CostActor {
  userId?: string | null;
  apiKeyId?: string | null;
}

/** The visits a cost is spread over: entrance visits (where clicks carry their cost), in range and scope. */
function coveredHits(workspaceId: string, scope: CostScope, startsAt: Date, endsAt: Date): SQL {
  const from = startsAt.toISOString();
  const to = endsAt.toISOString();
  const field = scope.field
    ? scope.field.name === "campaign"
      ? sql`and coalesce(h.tracking_fields ->> 'campaign', h.campaign) = ${scope.field.value}`
      : sql`and h.tracking_fields ->> ${scope.field.name} = ${scope.field.value}`
    : sql``;
  // The id bounds let Postgres prune hit partitions (ids are UUIDv7 minted at the visit).
  return sql`
    select h.id, h.created_at, coalesce(h.cost, 0) as click_cost
    from hits h
    where h.workspace_id = ${workspaceId}
      and h.created_at >= ${from}::timestamptz and h.created_at < ${to}::timestamptz
      and h.id >= hitrail_uuid7_floor(${from}::timestamptz - interval '1 day')
      and h.id < hitrail_uuid7_floor(${to}::timestamptz + interval '1 day')
      and h.prev_hit_id is null
      ${scope.trafficSourceId ? sql`and h.traffic_source_id = ${scope.trafficSourceId}` : sql``}
      ${scope.funnelId ? sql`and h.funnel_id = ${scope.funnelId}` : sql``}
      ${field}`;
}

/**
 * Each visit's live cost from updates: the share of the latest update not undone that covers it.
 * `range` bounds the visits' times.
 */
function effectiveAllocations(workspaceId: string, from: Date, to: Date): SQL {
  return sql`
    select distinct on (a.hit_id) a.hit_id, a.hit_at, a.amount, a.update_id
    from cost_allocations a
    join cost_updates u on u.workspace_id = a.workspace_id and u.id = a.update_id and u.undone_at is null
    where a.workspace_id = ${workspaceId}
      and a.hit_at >= ${from.toISOString()}::timestamptz and a.hit_at < ${to.toISOString()}::timestamptz
    order by a.hit_id, u.seq desc`;
}

async function lockWorkspaceCosts(tx: Executor, workspaceId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`costs:${workspaceId}`}, 0))`);
}

/** UTC bounds of a local range ("2026-05-01T00:00") in a time zone, as Postgres reads the zone. */
export async function localRangeToUtc(
  tx: Executor,
  input: { timeZone: string; start: string; end: string },
): Promise<{ startsAt: Date; endsAt: Date }> {
  const [row] = await tx.execute<{ s: string; e: string }>(sql`
    select to_char((${input.start}::timestamp at time zone ${input.timeZone}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as s,
           to_char((${input.end}::timestamp at time zone ${input.timeZone}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as e`);
  if (!row) throw new Error("time zone conversion returned nothing");
  return { startsAt: new Date(row.s), endsAt: new Date(row.e) };
}

/** Rebuilds the cost rollups of the hours [from, to) from the live allocations. */
async function rebuildCostRollups(tx: Executor, workspaceId: string, from: Date, to: Date): Promise<void> {
  const a = new Date(Math.floor(from.getTime() / 3_600_000) * 3_600_000);
  const b = new Date(Math.ceil(to.getTime() / 3_600_000) * 3_600_000);
  await tx.execute(sql`
    delete from cost_rollups_hourly
    where workspace_id = ${workspaceId} and hour >= ${a.toISOString()}::timestamptz and hour < ${b.toISOString()}::timestamptz`);
  await tx.execute(sql`
    insert into cost_rollups_hourly
      (workspace_id, hour, funnel_id, node_id, page_id, page_kind, traffic_source_id, country, device_type, os,
       browser, visits, cost_delta)
    select ${workspaceId}, date_trunc('hour', e.hit_at at time zone 'UTC') at time zone 'UTC', h.funnel_id, h.node_id,
           h.page_id, h.page_kind, h.traffic_source_id, h.country, h.device_type, h.os, h.browser, count(*)::int,
           sum(e.amount - coalesce(h.cost, 0))
    from (${effectiveAllocations(workspaceId, a, b)}) e
    join hits h on h.workspace_id = ${workspaceId} and h.id = e.hit_id
    group by 2, h.funnel_id, h.node_id, h.page_id, h.page_kind, h.traffic_source_id, h.country, h.device_type,
             h.os, h.browser`);
}

export interface ApplyCostUpdateInput {
  workspaceId: string;
  scope: CostScope;
  /** Local range in `timeZone`, [start, end) as core's localCostRange gives it. */
  timeZone: string;
  localStart: string;
  localEnd: string;
  mode: "total" | "per_visit";
  /** Canonical money string: the total, or the price of one visit. */
  amount: string;
  origin: "api" | "csv" | "cli";
  fileName?: string | null;
  fileLine?: number | null;
  actor: CostActor;
  /** False when the caller rebuilds cost_rollups_hourly itself afterwards (a cost file, once). */
  rebuildRollups?: boolean;
}

export type ApplyCostUpdateResult = { ok: true; update: CostUpdateRow } | { ok: false; reason: "no_visits" };

/**
 * Spreads a cost over the entrance visits of its scope and range and makes it their cost: in total
 * mode by core's costShareMicros (largest remainder, cents when the total is in cents, the extra
 * units spread evenly in visit order); per visit, every visit gets the amount. Earlier updates that
 * covered the same visits stay stored (undo brings them back) but no longer count.
 */
export async function applyCostUpdate(
  tx: Executor,
  input: ApplyCostUpdateInput,
): Promise<ApplyCostUpdateResult> {
  const { workspaceId } = input;
  await lockWorkspaceCosts(tx, workspaceId);
  const { startsAt, endsAt } = await localRangeToUtc(tx, {
    timeZone: input.timeZone,
    start: input.localStart,
    end: input.localEnd,
  });
  // The covered visits are read once (numbered in time order) into a transaction-local table: the
  // count, the cost they had and the shares all come from it instead of scanning hits three times.
  await tx.execute(sql`drop table if exists pg_temp.hitrail_cost_covered`);
  await tx.execute(sql`
    create temp table hitrail_cost_covered on commit drop as
    select c.id, c.created_at, c.click_cost, (row_number() over (order by c.id) - 1)::bigint as i
    from (${coveredHits(workspaceId, input.scope, startsAt, endsAt)}) c`);
  const [count] = await tx.execute<{ n: number }>(sql`select count(*)::int as n from hitrail_cost_covered`);
  const n = Number(count?.n ?? 0);
  if (n === 0) return { ok: false, reason: "no_visits" };

  const amountMicros = moneyToMicros(input.amount);
  const allocatedMicros = input.mode === "total" ? amountMicros : amountMicros * BigInt(n);
  const [update] = await tx
    .insert(costUpdates)
    .values({
      workspaceId,
      trafficSourceId: input.scope.trafficSourceId ?? null,
      funnelId: input.scope.funnelId ?? null,
      fieldName: input.scope.field?.name ?? null,
      fieldValue: input.scope.field?.value ?? null,
      localStart: input.localStart,
      localEnd: input.localEnd,
      timeZone: input.timeZone,
      startsAt,
      endsAt,
      mode: input.mode,
      amount: normalizeMoney(input.amount),
      visits: n,
      allocated: microsToMoney(allocatedMicros),
      replacedCost: "0",
      origin: input.origin,
      fileName: input.fileName ?? null,
      fileLine: input.fileLine ?? null,
      createdByUserId: input.actor.userId ?? null,
      createdByApiKeyId: input.actor.apiKeyId ?? null,
    })
    .returning();
  if (!update) throw new Error("cost update insert returned nothing");

  // What these visits cost until now (an earlier update's share, else the click's), for the list.
  const [before] = await tx.execute<{ cost: string }>(sql`
    select coalesce(sum(coalesce(e.amount, v.click_cost)), 0)::text as cost
    from hitrail_cost_covered v
    left join (${effectiveAllocations(workspaceId, startsAt, endsAt)}) e on e.hit_id = v.id`);

  // Visit i (0-based, in id = time order) of n gets ⌊T·(i+1)/n⌋ − ⌊T·i/n⌋ units (core's costShareMicros).
  const share =
    input.mode === "total"
      ? (() => {
          const unit = costUnitMicros(amountMicros);
          const units = (amountMicros / unit).toString();
          return sql`((floor(${units}::numeric * (v.i + 1) / ${n}) - floor(${units}::numeric * v.i / ${n}))
                      * ${unit.toString()}::numeric / 1000000)::numeric(18, 6)`;
        })()
      : sql`${normalizeMoney(input.amount)}::numeric(18, 6)`;
  await tx.execute(sql`
    insert into cost_allocations (workspace_id, update_id, hit_id, hit_at, amount)
    select ${workspaceId}, ${update.id}, v.id, v.created_at, ${share}
    from hitrail_cost_covered v`);
  if (input.rebuildRollups !== false) await rebuildCostRollups(tx, workspaceId, startsAt, endsAt);
  const [saved] = await tx
    .update(costUpdates)
    .set({ replacedCost: normalizeMoney(before?.cost ?? "0") })
    .where(sql`${costUpdates.workspaceId} = ${workspaceId} and ${costUpdates.id} = ${update.id}`)
    .returning();
  return { ok: true, update: saved ?? update };
}

export type UndoCostUpdateResult =
  | { ok: true; update: CostUpdateRow }
  | { ok: false; reason: "not_found" | "already_undone" };

/** Takes an update back: the visits it covered get again what they had before it (exactly). */
export async function undoCostUpdate(
  tx: Executor,
  input: { workspaceId: string; updateId: string; actor: CostActor },
): Promise<UndoCostUpdateResult> {
  await lockWorkspaceCosts(tx, input.workspaceId);
  const [row] = await tx.execute<{ id: string; undone: boolean; starts_at: string; ends_at: string }>(sql`
    select id, undone_at is not null as undone, starts_at::text, ends_at::text from cost_updates
    where workspace_id = ${input.workspaceId} and id = ${input.updateId} for update`);
  if (!row) return { ok: false, reason: "not_found" };
  if (row.undone) return { ok: false, reason: "already_undone" };
  const [update] = await tx
    .update(costUpdates)
    .set({
      undoneAt: sql`now()`,
      undoneByUserId: input.actor.userId ?? null,
      undoneByApiKeyId: input.actor.apiKeyId ?? null,
    })
    .where(sql`${costUpdates.workspaceId} = ${input.workspaceId} and ${costUpdates.id} = ${input.updateId}`)
    .returning();
  if (!update) return { ok: false, reason: "not_found" };
  await rebuildCostRollups(tx, input.workspaceId, update.startsAt, update.endsAt);
  return { ok: true, update };
}

export interface CostUpdateListRow extends CostUpdateRow {
  /**
   * Later updates (not undone) of the same scope whose range overlaps this one's, oldest first;
   * `whole` when one of them covers all of it.
   */
  replacedBy: { id: string; whole: boolean }[];
}

/** Updates newest first, each with the later updates of its scope that replaced it (in part). */
export async function listCostUpdates(
  tx: Executor,
  input: { workspaceId: string; limit: number; before?: string | undefined },
): Promise<CostUpdateListRow[]> {
  const page = await tx.execute<{ id: string }>(sql`
    select u.id::text from cost_updates u
    where u.workspace_id = ${input.workspaceId}
      ${input.before ? sql`and u.seq < (select seq from cost_updates where workspace_id = ${input.workspaceId} and id = ${input.before})` : sql``}
    order by u.seq desc limit ${input.limit}`);
  if (page.length === 0) return [];
  const ids = sql`(select unnest(${`{${page.map((r) => r.id).join(",")}}`}::uuid[]))`;
  const rows = await tx
    .select()
    .from(costUpdates)
    .where(sql`${costUpdates.workspaceId} = ${input.workspaceId} and ${costUpdates.id} in ${ids}`);
  const replaced = await tx.execute<{ id: string; by: string; whole: boolean }>(sql`
    select p.id::text, l.id::text as by, (l.starts_at <= p.starts_at and l.ends_at >= p.ends_at) as whole
    from cost_updates p
    join cost_updates l on l.workspace_id = p.workspace_id and l.seq > p.seq and l.undone_at is null
      and l.starts_at < p.ends_at and l.ends_at > p.starts_at
      and l.traffic_source_id is not distinct from p.traffic_source_id
      and l.funnel_id is not distinct from p.funnel_id
      and l.field_name is not distinct from p.field_name
      and l.field_value is not distinct from p.field_value
    where p.workspace_id = ${input.workspaceId} and p.id in ${ids}
    order by l.seq`);
  const by = new Map<string, { id: string; whole: boolean }[]>();
  for (const r of replaced) by.set(r.id, [...(by.get(r.id) ?? []), { id: r.by, whole: Boolean(r.whole) }]);
  return rows.map((u) => ({ ...u, replacedBy: by.get(u.id) ?? [] })).sort((x, y) => y.seq - x.seq);
}

export async function findCostUpdate(
  tx: Executor,
  input: { workspaceId: string; updateId: string },
): Promise<CostUpdateRow | undefined> {
  const [row] = await tx
    .select()
    .from(costUpdates)
    .where(sql`${costUpdates.workspaceId} = ${input.workspaceId} and ${costUpdates.id} = ${input.updateId}`);
  return row;
}

/** Traffic sources of the workspace by lower-cased name and by id, for a cost file's `source` column. */
export async function trafficSourcesByName(
  tx: Executor,
  workspaceId: string,
): Promise<{ byName: Map<string, string[]>; ids: Set<string> }> {
  const rows = await tx.execute<{ id: string; name: string }>(
    sql`select id::text, name from traffic_sources where workspace_id = ${workspaceId}`,
  );
  const byName = new Map<string, string[]>();
  for (const r of rows) {
    const k = r.name.trim().toLowerCase();
    byName.set(k, [...(byName.get(k) ?? []), r.id]);
  }
  return { byName, ids: new Set(rows.map((r) => r.id)) };
}

/** Who acted, by id: members' emails and API keys' names (former members stay unnamed). */
export async function costActorLabels(tx: Executor, workspaceId: string): Promise<Map<string, string>> {
  const rows = await tx.execute<{ id: string; label: string }>(sql`
    select u.id::text, u.email as label from memberships m join users u on u.id = m.user_id
    where m.workspace_id = ${workspaceId}
    union all
    select k.id::text, 'API key ' || k.name from api_keys k where k.workspace_id = ${workspaceId}`);
  return new Map(rows.map((r) => [r.id, r.label]));
}

export interface CostFileResult {
  field: string | null;
  updates: CostUpdateRow[];
  /** Every bad line with its reason, in line order. Non-empty: roll the transaction back. */
  problems: CostCsvProblem[];
}

/**
 * A cost file (`date,source,<field>,amount`, core's parseCostCsv): one total per line for a whole
 * local day of a traffic source (by name, case-insensitive, or id), or of one value of its tracking
 * field; lines apply in file order. Every line that can be applied is, so `problems` names every
 * line that would fail; the caller rolls back when there is any (a file applies whole or not at all).
 */
export async function applyCostFile(
  tx: Executor,
  input: {
    workspaceId: string;
    timeZone: string;
    csv: string;
    fileName: string;
    origin: "api" | "cli";
    actor: CostActor;
  },
): Promise<CostFileResult> {
  const { workspaceId } = input;
  const csv = parseCostCsv(input.csv);
  const problems = [...csv.problems];
  const sources = await trafficSourcesByName(tx, workspaceId);
  const updates: CostUpdateRow[] = [];
  for (const row of csv.rows) {
    const named = sources.byName.get(row.source.toLowerCase()) ?? [];
    const byId = sources.ids.has(row.source.toLowerCase()) ? row.source.toLowerCase() : null;
    const trafficSourceId = byId ?? (named.length === 1 ? (named[0] as string) : null);
    if (trafficSourceId === null) {
      problems.push({
        line: row.line,
        reason:
          named.length > 1
            ? `${named.length} traffic sources are named ${quoteValue(row.source)}; write its id instead`
            : `source ${quoteValue(row.source)} is not a traffic source of this workspace`,
      });
      continue;
    }
    const result = await applyCostUpdate(tx, {
      workspaceId,
      scope: {
        trafficSourceId,
        field: csv.field !== null && row.value !== null ? { name: csv.field, value: row.value } : null,
      },
      timeZone: input.timeZone,
      localStart: `${row.date}T00:00`,
      localEnd: `${nextLocalDay(row.date)}T00:00`,
      mode: "total",
      amount: row.amount,
      origin: input.origin === "cli" ? "cli" : "csv",
      fileName: input.fileName,
      fileLine: row.line,
      actor: input.actor,
      rebuildRollups: false,
    });
    if (result.ok) updates.push(result.update);
    else {
      problems.push({
        line: row.line,
        reason: `no visits of ${quoteValue(row.source)}${row.value !== null ? ` with ${csv.field} ${quoteValue(row.value)}` : ""} on ${row.date}; there is nothing to spread ${row.amount} over`,
      });
    }
  }
  if (updates.length > 0 && problems.length === 0) {
    const from = new Date(Math.min(...updates.map((u) => u.startsAt.getTime())));
    const to = new Date(Math.max(...updates.map((u) => u.endsAt.getTime())));
    await rebuildCostRollups(tx, workspaceId, from, to);
  }
  return { field: csv.field, updates, problems: problems.sort((a, b) => a.line - b.line) };
}

function nextLocalDay(date: string): string {
  const t = new Date(`${date}T00:00:00Z`);
  t.setUTCDate(t.getUTCDate() + 1);
  return t.toISOString().slice(0, 10);
}

/** "line 3: …; line 5: …" for the first `max` problems of a cost file. */
export function describeCostFileProblems(problems: readonly CostCsvProblem[], max = 20): string {
  const shown = problems
    .slice(0, max)
    .map((p) => `line ${p.line}: ${p.reason}`)
    .join("; ");
  const more = problems.length > max ? ` (and ${problems.length - max} more)` : "";
  return `${problems.length} bad line(s): ${shown}${more}`;
}
