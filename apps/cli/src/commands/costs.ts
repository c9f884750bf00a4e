import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { costAmountProblem, localCostRange, normalizeMoney } from "@hitrail/core";
import {
  applyCostFile,
  applyCostUpdate,
  type CostUpdateRow,
  type Database,
  describeCostFileProblems,
  findWorkspaceBySlugOrId,
  isUuid,
  listCostUpdates,
  undoCostUpdate,
  withWorkspace,
} from "@hitrail/db";

// `hitrail costs …`: the same cost updates as the API's costs.set / upload / list / undo, for
// operators at a shell. They run as the apps' role inside the workspace (row-level security holds)
// and are recorded with origin `cli`.

async function workspaceOf(db: Database, slugOrId: string) {
  const ws = await findWorkspaceBySlugOrId(db, slugOrId);
  if (!ws) throw new Error(`no workspace '${slugOrId}'`);
  return ws;
}

export function costSummary(u: CostUpdateRow & { replacedBy?: { id: string; whole: boolean }[] }) {
  const replacedBy = u.replacedBy ?? [];
  return {
    id: u.id,
    status: u.undoneAt
      ? "undone"
      : replacedBy.some((r) => r.whole)
        ? "replaced"
        : replacedBy.length > 0
          ? "partly_replaced"
          : "live",
    trafficSourceId: u.trafficSourceId,
    funnelId: u.funnelId,
    field: u.fieldName ? `${u.fieldName}=${u.fieldValue}` : null,
    from: u.localStart,
    to: u.localEnd,
    timeZone: u.timeZone,
    mode: u.mode,
    amount: normalizeMoney(u.amount),
    visits: u.visits,
    allocated: normalizeMoney(u.allocated),
    origin: u.origin,
    file: u.fileName ? `${u.fileName}:${u.fileLine}` : null,
    createdAt: u.createdAt.toISOString(),
  };
}

export interface SetCostOptions {
  workspace: string;
  trafficSource?: string;
  funnel?: string;
  /** "zone=123". */
  field?: string;
  from: string;
  to: string;
  amount: string;
  perVisit?: boolean;
}

export async function setCostCommand(db: Database, opts: SetCostOptions) {
  if (!opts.trafficSource && !opts.funnel && !opts.field)
    throw new Error("name what the cost is for: --traffic-source, --funnel and/or --field NAME=VALUE");
  for (const [flag, value] of [
    ["--traffic-source", opts.trafficSource],
    ["--funnel", opts.funnel],
  ] as const) {
    if (value !== undefined && !isUuid(value)) throw new Error(`${flag} takes an id`);
  }
  let field: { name: string; value: string } | null = null;
  if (opts.field !== undefined) {
    const at = opts.field.indexOf("=");
    const name = at > 0 ? opts.field.slice(0, at).trim() : "";
    const value = at > 0 ? opts.field.slice(at + 1).trim() : "";
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || value === "")
      throw new Error(`--field '${opts.field}' must be NAME=VALUE, such as zone=12345`);
    field = { name, value };
  }
  const range = localCostRange(opts.from, opts.to);
  if (!range.ok) throw new Error(`--${range.field} ${range.reason}`);
  const problem = costAmountProblem(opts.amount);
  if (problem !== null) throw new Error(`--amount ${problem}`);
  const ws = await workspaceOf(db, opts.workspace);
  return withWorkspace(db, ws.id, async (tx) => {
    const result = await applyCostUpdate(tx, {
      workspaceId: ws.id,
      scope: { trafficSourceId: opts.trafficSource ?? null, funnelId: opts.funnel ?? null, field },
      timeZone: ws.timeZone,
      localStart: range.range.start,
      localEnd: range.range.end,
      mode: opts.perVisit ? "per_visit" : "total",
      amount: normalizeMoney(opts.amount),
      origin: "cli",
      actor: {},
    });
    if (!result.ok)
      throw new Error(
        `no visits match this cost between ${range.range.start} and ${range.range.end} (${ws.timeZone}) in this workspace`,
      );
    return costSummary(result.update);
  });
}

class RolledBack extends Error {}

export async function uploadCostsCommand(db: Database, opts: { workspace: string; file: string }) {
  const text = await readFile(opts.file, "utf8");
  const ws = await workspaceOf(db, opts.workspace);
  try {
    return await withWorkspace(db, ws.id, async (tx) => {
      const result = await applyCostFile(tx, {
        workspaceId: ws.id,
        timeZone: ws.timeZone,
        csv: text,
        fileName: basename(opts.file),
        origin: "cli",
        actor: {},
      });
      if (result.problems.length > 0)
        throw new RolledBack(`nothing was changed; ${describeCostFileProblems(result.problems, 50)}`);
      return { file: opts.file, field: result.field, updates: result.updates.map(costSummary) };
    });
  } catch (error) {
    if (error instanceof RolledBack) throw new Error(error.message);
    throw error;
  }
}

export async function listCostsCommand(db: Database, opts: { workspace: string; limit: number }) {
  const ws = await workspaceOf(db, opts.workspace);
  const rows = await withWorkspace(db, ws.id, (tx) =>
    listCostUpdates(tx, { workspaceId: ws.id, limit: opts.limit }),
  );
  return rows.map(costSummary);
}

export async function undoCostCommand(db: Database, opts: { workspace: string; update: string }) {
  if (!isUuid(opts.update)) throw new Error("--update takes an id");
  const ws = await workspaceOf(db, opts.workspace);
  return withWorkspace(db, ws.id, async (tx) => {
    const result = await undoCostUpdate(tx, { workspaceId: ws.id, updateId: opts.update, actor: {} });
    if (!result.ok)
      throw new Error(
        result.reason === "not_found"
          ? `no cost update '${opts.update}' in this workspace`
          : "this cost update is already undone",
      );
    return costSummary(result.update);
  });
}
