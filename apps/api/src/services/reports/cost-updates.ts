import { microsToMoney, moneyToMicros, normalizeMoney } from "@hitrail/core";
import {
  type Executor,
  type ReportQuery,
  reportCostAdjustments,
  reportCostAdjustmentsRaw,
  type VisitRow,
} from "@hitrail/db";

// The one place reports meet cost updates (docs/costs.md): each visit row's cost gets the
// difference the updates make for its key, and says how many of its visits' cost an update set.

export type VisitRowWithCosts = VisitRow & { costUpdatedVisits: number };

export async function visitsWithCostUpdates(
  tx: Executor,
  q: ReportQuery,
  raw: boolean,
  visitsOf: (tx: Executor, q: ReportQuery) => Promise<VisitRow[]>,
): Promise<VisitRowWithCosts[]> {
  const [visits, adjustments] = await Promise.all([
    visitsOf(tx, q),
    (raw ? reportCostAdjustmentsRaw : reportCostAdjustments)(tx, q),
  ]);
  const keyOf = (key: Record<string, string | null>) => JSON.stringify(q.groupBy.map((d) => key[d] ?? null));
  const rows = new Map<string, VisitRowWithCosts>(
    visits.map((v) => [keyOf(v.key), { ...v, costUpdatedVisits: 0 }]),
  );
  for (const a of adjustments) {
    const k = keyOf(a.key);
    // A key without visit rows only while the visit rollups catch up with new hits.
    const row = rows.get(k) ?? {
      key: a.key,
      entrances: 0,
      visits: 0,
      clicks: 0,
      uniqueNode: 0,
      uniqueFunnel: 0,
      bots: 0,
      cost: "0",
      costUpdatedVisits: 0,
    };
    row.cost = microsToMoney(
      moneyToMicros(normalizeMoney(row.cost)) + moneyToMicros(normalizeMoney(a.costDelta)),
    );
    row.costUpdatedVisits += a.visits;
    rows.set(k, row);
  }
  return [...rows.values()];
}
