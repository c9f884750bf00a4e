import { normalizeMoney } from "@hitrail/core";
import {
  type ConversionRow,
  type EventRow,
  type Executor,
  PAGE_DIMENSIONS,
  type ReportColumn,
  type ReportDimension,
  type ReportQuery,
  reportConversions,
  reportConversionsRaw,
  reportEvents,
  reportEventsRaw,
  type VisitRow,
} from "@hitrail/db";
import { expect } from "vitest";

// What a report shows of its rows, for comparing the rollups' answer with the raw rows': the rollup
// tests by field and by visit tuple all compare through these.

/** What the report reads of a visit row: unique visitors per page on page rows, per funnel else. */
export function shownVisits(rows: VisitRow[], groupBy: ReportColumn[]) {
  const pageLevel = groupBy.some((d) => PAGE_DIMENSIONS.includes(d as ReportDimension));
  return rows
    .map((r) => ({
      key: r.key,
      entrances: r.entrances,
      visits: r.visits,
      clicks: r.clicks,
      unique: pageLevel ? r.uniqueNode : r.uniqueFunnel,
      bots: r.bots,
      cost: normalizeMoney(r.cost),
    }))
    .sort((a, b) => JSON.stringify(a.key).localeCompare(JSON.stringify(b.key)));
}

/** What the report reads of a conversion or custom event row, direct and assisted. */
export function shownConversions<R extends ConversionRow | EventRow>(rows: R[]) {
  return rows
    .map((r) => ({
      key: r.key,
      event: "eventTypeId" in r ? r.eventTypeId : null,
      direct: [r.directConversions, normalizeMoney(r.directRevenue)],
      assisted: [r.assistedConversions, normalizeMoney(r.assistedRevenue)],
    }))
    .sort((a, b) => JSON.stringify([a.key, a.event]).localeCompare(JSON.stringify([b.key, b.event])));
}

/**
 * Every query, which `answers` says the rollups under test answer, gives the raw rows' conversions
 * and custom events from the rollups.
 */
export async function expectRawConversions(
  db: Executor,
  queries: ReportQuery[],
  answers: (q: ReportQuery) => boolean,
) {
  for (const q of queries) {
    expect(answers(q), JSON.stringify(q)).toBe(true);
    const [rolled, raw, rolledEvents, rawEvents] = await Promise.all([
      reportConversions(db, q),
      reportConversionsRaw(db, q),
      reportEvents(db, q),
      reportEventsRaw(db, q),
    ]);
    expect(shownConversions(rolled), JSON.stringify(q)).toEqual(shownConversions(raw));
    expect(shownConversions(rolledEvents), JSON.stringify(q)).toEqual(shownConversions(rawEvents));
  }
}

/**
 * `queries` credited at conversion time (the rollups at conversion time answer every grouping),
 * and, over the first one's range, the groupings without a field: each dimension, a drill-down,
 * hours and days in a zone whose days are not UTC days.
 */
export function atConversionTime(queries: ReportQuery[]): ReportQuery[] {
  const [first] = queries;
  if (!first) return [];
  const plain = (over: Partial<ReportQuery>): ReportQuery => ({
    workspaceId: first.workspaceId,
    timeZone: "UTC",
    fromDate: first.fromDate,
    toDate: first.toDate,
    groupBy: [],
    ...over,
  });
  return [
    ...queries,
    plain({}),
    plain({ groupBy: ["trafficSource"] }),
    plain({ groupBy: ["funnel", "node"] }),
    plain({ groupBy: ["lander", "offer"] }),
    plain({ groupBy: ["country", "device"] }),
    plain({ groupBy: ["os", "browser"] }),
    plain({ groupBy: ["offer"], filters: [{ dimension: "country", value: "DE" }] }),
    plain({ groupBy: ["hour"] }),
    plain({ groupBy: ["day", "node"], timeZone: "Asia/Kolkata" }),
  ].map((q) => ({ ...q, creditAt: "conversion" as const }));
}

/** Credited at conversion time: the rollups at conversion time answer it. */
export const creditedAtConversion = (q: ReportQuery) => q.creditAt === "conversion";
