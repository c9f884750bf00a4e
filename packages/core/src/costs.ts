import { isMoney, microsToMoney, moneyToMicros, quoteValue } from "./money.ts";

// Cost updates: a traffic source bills a total (or a price per visit) for a range, and the tracker
// spreads it over the visits of that range. Money is micros here as everywhere in core.

/** One cent in micros: a total in whole cents is spread in whole cents. */
export const CENT_MICROS = 10_000n;

/**
 * The unit a total is spread in: the cent when the total is a whole number of cents (every visit's
 * share, every report row and every total then shows exact cents that add up), else the micro
 * (a total such as 12.345678 cannot be cut into cents without losing some of it).
 */
export function costUnitMicros(totalMicros: bigint): bigint {
  return totalMicros % CENT_MICROS === 0n ? CENT_MICROS : 1n;
}

/**
 * The share of visit `i` (0-based, visits in time order) of `totalMicros` spread over `n` visits:
 * the largest-remainder method with equal weights. Every visit gets the exact share T/n rounded down
 * to the unit, and exactly (T mod n) of them one unit more, so the shares add up to the total to the
 * unit. The units left over go to visits spread evenly through the range (cumulative rounding:
 * visit i gets ⌊T·(i+1)/n⌋ − ⌊T·i/n⌋ units), so an hour or a day of the range gets its share of the
 * total within one unit, never all the remainders at the start.
 *
 * packages/db computes the same formula in SQL for every visit of a range at once; its test checks
 * both agree.
 */
export function costShareMicros(totalMicros: bigint, n: number, i: number): bigint {
  if (n <= 0 || !Number.isInteger(n)) throw new RangeError("a cost is spread over at least one visit");
  if (i < 0 || i >= n || !Number.isInteger(i)) throw new RangeError(`visit ${i} is not one of ${n}`);
  if (totalMicros < 0n) throw new RangeError("a cost is not negative");
  const unit = costUnitMicros(totalMicros);
  const units = totalMicros / unit;
  const N = BigInt(n);
  const I = BigInt(i);
  return ((units * (I + 1n)) / N - (units * I) / N) * unit;
}

/** Every visit's share, in order: `costShareMicros` for i = 0 … n−1 (sums to the total exactly). */
export function spreadCostMicros(totalMicros: bigint, n: number): bigint[] {
  return Array.from({ length: n }, (_, i) => costShareMicros(totalMicros, n, i));
}

/** The same, as money strings. */
export function spreadCost(total: string, n: number): string[] {
  return spreadCostMicros(moneyToMicros(total), n).map(microsToMoney);
}

export type CostMode = "total" | "per_visit";

// ---------------------------------------------------------------------------------------------
// Local ranges

/** A local date ("2026-05-17") or a local date-time to the minute ("2026-05-17T14:00"). */
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?$/;

export interface LocalRange {
  /** Local date-times "YYYY-MM-DDTHH:MM", start inclusive, end exclusive. */
  start: string;
  end: string;
}

function validDate(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

function localParts(v: string): { date: string; time: string | null } | null {
  const m = LOCAL.exec(v.trim());
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!validDate(y, mo, d)) return null;
  if (m[4] !== undefined) {
    if (Number(m[4]) > 23 || Number(m[5]) > 59) return null;
    return { date: `${m[1]}-${m[2]}-${m[3]}`, time: `${m[4]}:${m[5]}` };
  }
  return { date: `${m[1]}-${m[2]}-${m[3]}`, time: null };
}

function nextDay(date: string): string {
  const t = new Date(`${date}T00:00:00Z`);
  t.setUTCDate(t.getUTCDate() + 1);
  return t.toISOString().slice(0, 10);
}

/**
 * The range a cost covers, in the workspace's local time: `from` a date (its start) or a date-time;
 * `to` a date (inclusive: to the end of that day, as in reports) or a date-time (exclusive).
 * "2026-05-01" … "2026-05-01" is that whole day; "2026-05-01T10:00" … "2026-05-01T14:00" four hours.
 */
export function localCostRange(
  from: string,
  to: string,
): { ok: true; range: LocalRange } | { ok: false; field: "from" | "to"; reason: string } {
  const f = localParts(from);
  if (f === null)
    return {
      ok: false,
      field: "from",
      reason: `${quoteValue(from)} is not a date such as 2026-05-17 or 2026-05-17T14:00`,
    };
  const t = localParts(to);
  if (t === null)
    return {
      ok: false,
      field: "to",
      reason: `${quoteValue(to)} is not a date such as 2026-05-17 or 2026-05-17T14:00`,
    };
  const start = `${f.date}T${f.time ?? "00:00"}`;
  const end = t.time === null ? `${nextDay(t.date)}T00:00` : `${t.date}T${t.time}`;
  if (end <= start) return { ok: false, field: "to", reason: "must be after from" };
  return { ok: true, range: { start, end } };
}

// ---------------------------------------------------------------------------------------------
// Cost CSV: date, source, field value, amount

/** Largest cost one update may carry (a total, or a price per visit). */
export const MAX_COST = "1000000000";
const MAX_COST_MICROS = moneyToMicros(MAX_COST);

/** Why an amount cannot be a cost, or null when it can. */
export function costAmountProblem(raw: string): string | null {
  const v = raw.trim();
  if (!isMoney(v)) return `${quoteValue(v)} is not an amount such as 12.50`;
  const micros = moneyToMicros(v);
  if (micros < 0n) return `${quoteValue(v)} is negative; a cost is 0 or more`;
  if (micros > MAX_COST_MICROS) return `${quoteValue(v)} is above the maximum of ${MAX_COST}`;
  return null;
}

export interface CostCsvRow {
  /** 1-based line of the file, as an editor shows it. */
  line: number;
  /** Local date "YYYY-MM-DD": the cost covers that whole day. */
  date: string;
  /** Traffic source by name or id, as written. */
  source: string;
  /** The tracking-field value (zone, campaign…), or null: the whole source. */
  value: string | null;
  /** Canonical money string. */
  amount: string;
}

export interface CostCsvProblem {
  line: number;
  reason: string;
}

export interface CostCsv {
  /** The tracking field the third column names (its header), or null for a file without one. */
  field: string | null;
  rows: CostCsvRow[];
  problems: CostCsvProblem[];
}

/** Splits CSV text into records of cells (RFC 4180: quotes, doubled quotes, CRLF), with their lines. */
export function readCsvRecords(text: string): { line: number; cells: string[] }[] {
  const out: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = "";
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let touched = false;
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const endRecord = () => {
    cells.push(cell);
    if (touched || cells.length > 1 || cells[0] !== "") out.push({ line: recordLine, cells });
    cells = [];
    cell = "";
    touched = false;
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (quoted) {
      if (c === '"') {
        if (s[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === "\n") line++;
        cell += c;
      }
      continue;
    }
    if (c === '"') {
      quoted = true;
      touched = true;
    } else if (c === ",") {
      cells.push(cell);
      cell = "";
      touched = true;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && s[i + 1] === "\n") i++;
      endRecord();
      line++;
      recordLine = line;
    } else cell += c;
  }
  if (cell !== "" || cells.length > 0 || touched) endRecord();
  return out;
}

const DATE_HEADERS = new Set(["date", "day"]);
const SOURCE_HEADERS = new Set(["source", "traffic source", "traffic_source", "trafficsource"]);
const AMOUNT_HEADERS = new Set(["amount", "cost", "spend"]);
const FIELD_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Reads a cost file: a header `date,source,<field>,amount` (the third column's header is the
 * tracking field its values belong to, e.g. `zone`) or `date,source,amount` for whole sources; then
 * one cost per line. Every bad line is reported with its number and reason; good lines are kept.
 */
export function parseCostCsv(text: string): CostCsv {
  const records = readCsvRecords(text);
  const problems: CostCsvProblem[] = [];
  const header = records[0];
  if (header === undefined) {
    return { field: null, rows: [], problems: [{ line: 1, reason: "the file is empty" }] };
  }
  const names = header.cells.map((c) => c.trim());
  const lower = names.map((c) => c.toLowerCase());
  const shapeOk =
    (lower.length === 3 || lower.length === 4) &&
    DATE_HEADERS.has(lower[0] ?? "") &&
    SOURCE_HEADERS.has(lower[1] ?? "") &&
    AMOUNT_HEADERS.has(lower[lower.length - 1] ?? "");
  if (!shapeOk) {
    return {
      field: null,
      rows: [],
      problems: [
        {
          line: header.line,
          reason: `the header must be 'date,source,<tracking field>,amount' or 'date,source,amount', not '${names.join(",")}'`,
        },
      ],
    };
  }
  const field = names.length === 4 ? (names[2] as string) : null;
  if (field !== null && !FIELD_NAME.test(field)) {
    return {
      field: null,
      rows: [],
      problems: [
        {
          line: header.line,
          reason: `the third column names the tracking field (e.g. zone); ${quoteValue(field)} is not a field name`,
        },
      ],
    };
  }
  const rows: CostCsvRow[] = [];
  for (const r of records.slice(1)) {
    const cells = r.cells.map((c) => c.trim());
    if (cells.length !== names.length) {
      problems.push({ line: r.line, reason: `has ${cells.length} columns; the header has ${names.length}` });
      continue;
    }
    const [date = "", source = ""] = cells;
    const value = field === null ? null : (cells[2] as string);
    const amount = cells[cells.length - 1] as string;
    const reasons: string[] = [];
    const parts = /^\d{4}-\d{2}-\d{2}$/.test(date) ? localParts(date) : null;
    if (parts === null) reasons.push(`date ${quoteValue(date)} is not a date such as 2026-05-17`);
    if (source === "") reasons.push("source is empty");
    const amountProblem = costAmountProblem(amount);
    if (amountProblem !== null) reasons.push(`amount ${amountProblem}`);
    if (value !== null && value.length > 256) reasons.push(`${field} is longer than 256 characters`);
    if (reasons.length > 0) {
      problems.push({ line: r.line, reason: reasons.join("; ") });
      continue;
    }
    rows.push({
      line: r.line,
      date,
      source,
      value: value === null || value === "" ? null : value,
      amount: microsToMoney(moneyToMicros(amount)),
    });
  }
  const seen = new Map<string, number>();
  for (const row of rows) {
    const key = JSON.stringify([row.date, row.source.toLowerCase(), row.value]);
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push({
        line: row.line,
        reason: `repeats line ${first} (same date, source${field ? ` and ${field}` : ""}); a file names each cost once`,
      });
    } else seen.set(key, row.line);
  }
  const refused = new Set(problems.map((p) => p.line));
  if (rows.length === 0 && problems.length === 0)
    problems.push({ line: header.line, reason: "the file has no costs" });
  return {
    field,
    rows: rows.filter((r) => !refused.has(r.line)),
    problems: problems.sort((a, b) => a.line - b.line),
  };
}
