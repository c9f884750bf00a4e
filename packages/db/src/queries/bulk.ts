import { getTableColumns, type SQL, sql, type Table } from "drizzle-orm";
import type { Executor } from "../client.ts";

// Bulk statements from one JSON parameter: the statement text is the same for any number of rows,
// and a batch costs one parameter to serialize instead of rows × columns. The columns come from the
// drizzle table, so a row type and its statement cannot drift apart.

// Postgres text and json cannot hold NUL, and a lone UTF-16 surrogate is not JSON Postgres accepts:
// whatever a sender typed is stored, but made storable first.
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what must go
const NUL = /\u0000/g;

export function storableText(value: string): string {
  return value.toWellFormed().replace(NUL, "\uFFFD");
}

// What JSON.stringify writes for a NUL or a lone surrogate (a backslash-escaped backslash followed by
// the same letters also matches: that only sends it down the slow path).
const UNSTORABLE_ESCAPE = /\\u(0000|d[89a-f])/i;

/** JSON for a `json_to_recordset` parameter, every string (keys included) made storable. */
export function jsonParam(value: unknown): string {
  // The replacer below visits every value; nearly every batch needs none of it.
  let plain: string | null;
  try {
    plain = JSON.stringify(value);
  } catch {
    plain = null; // a bigint: the replacer below writes it as a string
  }
  // `\u` first: a plain substring search, several times faster than the regular expression over a
  // batch's megabytes, and JSON.stringify writes no `\u` at all for nearly every batch.
  if (plain !== null && (!plain.includes("\\u") || !UNSTORABLE_ESCAPE.test(plain))) return plain;
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "string") return storableText(v);
    if (typeof v === "bigint") return v.toString();
    if (v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date)) {
      const out: Record<string, unknown> = {};
      for (const [k, inner] of Object.entries(v)) out[storableText(k)] = inner;
      return out;
    }
    return v;
  });
}

/** [column, key in the row object, Postgres type] */
export type JsonColumn = readonly [column: string, key: string, type: string];

/** The keys of a table's insert row. */
export type InsertKey<T extends Table> = keyof T["$inferInsert"] & string;

/**
 * A row a bulk statement writes: exactly these columns of the table's insert row, every one present
 * (null where the column allows it), so no default is left to a JSON key that is missing.
 */
export type BulkRow<T extends Table, K extends InsertKey<T>> = { [P in K]-?: T["$inferInsert"][P] };

/** The JSON shape of these columns of a table, for `insertFromJsonSql`. */
export function bulkColumns<T extends Table, K extends InsertKey<T>>(
  table: T,
  keys: readonly K[],
): JsonColumn[] {
  const columns = getTableColumns(table);
  return keys.map((key) => {
    const column = columns[key];
    if (column === undefined) throw new Error(`${key} is not a column of this table`);
    return [column.name, key, column.getSQLType()] as const;
  });
}

/** `insert into <table> (…) select … from json_to_recordset($1)`; table and columns are code, never input. */
export function insertFromJsonSql(
  table: string,
  columns: readonly JsonColumn[],
  rows: readonly object[],
): SQL {
  const [head, tail] = insertFromJsonParts(table, columns);
  return sql`${sql.raw(head)}${jsonParam(rows)}${sql.raw(tail)}`;
}

// The text either side of the parameter, made once per column list: the columns are constants, and
// rebuilding the text was a batch's share of three joins per table, every batch.
const partsByColumns = new WeakMap<readonly JsonColumn[], Map<string, readonly [string, string]>>();

function insertFromJsonParts(table: string, columns: readonly JsonColumn[]): readonly [string, string] {
  let byTable = partsByColumns.get(columns);
  if (byTable === undefined) {
    byTable = new Map();
    partsByColumns.set(columns, byTable);
  }
  let parts = byTable.get(table);
  if (parts === undefined) {
    const target = columns.map(([c]) => `"${c}"`).join(", ");
    const source = columns.map(([, k]) => `r."${k}"`).join(", ");
    const shape = columns.map(([, k, t]) => `"${k}" ${t}`).join(", ");
    parts = [
      `insert into "${table}" (${target}) select ${source} from json_to_recordset(`,
      `::json) as r(${shape})`,
    ] as const;
    byTable.set(table, parts);
  }
  return parts;
}

// Bulk inserts from one typed array per column (`unnest`): for the few large batches of a conversion
// import, where PostgreSQL's decoding of the JSON parameter was a third of the write. json_to_recordset
// hashes every object's keys to find its fields; an array of a column's type is decoded value by
// value (measured on 20,000 conversion rows with their raw requests: 268 ms against 390-520 ms).

// A character Postgres text cannot hold (NUL), or half of a surrogate pair (a lone one is not UTF-8):
// the slow path makes the literal storable, value by value, as jsonParam does.
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what must go
const MAYBE_UNSTORABLE = /[\u0000\ud800-\udfff]/;

/** One value as an element of a Postgres array literal (NULL unquoted, everything else quoted). */
function arrayElement(value: unknown, storable: boolean): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (typeof value === "boolean") return value ? "t" : "f";
  let text: string;
  if (typeof value === "string") text = storable ? storableText(value) : value;
  else if (value instanceof Date) return value.toISOString();
  // An object is a jsonb value: its JSON text, made storable by jsonParam.
  else text = jsonParam(value);
  return text.includes('"') || text.includes("\\") ? `"${text.replace(/["\\]/g, "\\$&")}"` : `"${text}"`;
}

/** A Postgres array literal of these values (one column of a batch), as text for a `::type[]` cast. */
export function arrayLiteral(values: readonly unknown[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) out += (i === 0 ? "" : ",") + arrayElement(values[i], false);
  out += "}";
  if (!MAYBE_UNSTORABLE.test(out)) return out;
  return `{${values.map((v) => arrayElement(v, true)).join(",")}}`;
}

/** What an unquoted array element must not hold: its separators, quotes and escapes. */
const UNQUOTABLE = /[,{}"\\]/;

/**
 * An array literal of values that need no quoting, written as they are: uuids (made here or checked
 * as they came in), integers, numerics as core wrote them, enum labels, and times (a Date, or a time
 * as PostgreSQL printed it: quoted for its space). Half the cost of arrayLiteral's quoting and
 * escaping of each value. A string that would need more than that (which the callers' values never
 * do) sends the whole array through arrayLiteral: a stray comma must never shift a column's values.
 */
export function plainArrayLiteral(values: readonly unknown[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ",";
    if (v === null || v === undefined) out += "NULL";
    else if (v instanceof Date) out += v.toISOString();
    else if (typeof v !== "string") out += String(v);
    else if (UNQUOTABLE.test(v)) return arrayLiteral(values);
    else out += v.includes(" ") ? `"${v}"` : v;
  }
  return `${out}}`;
}

/**
 * `insert into <table> (…) select unnest($first::type[]), …`: one array per column, unnested in step
 * in the select list (a ProjectSet), where a function scan in FROM first copied every array's values
 * into a tuplestore of its own. A column that is itself an array (text[]) goes in as the text of its
 * literal, one per row, cast back per row: unnest would flatten an array of arrays.
 */
export function insertFromArraysText(table: string, columns: readonly JsonColumn[], first: number): string {
  const target = columns.map(([c]) => `"${c}"`).join(", ");
  const source = columns.map(([, , type], i) =>
    type.endsWith("[]") ? `unnest($${first + i}::text[])::${type}` : `unnest($${first + i}::${type}[])`,
  );
  return `insert into "${table}" (${target}) select ${source.join(", ")}`;
}

/**
 * One array literal per column of `columns`, from `rows` (an array-typed column: its literal per row).
 * Ids, numbers, enum labels and times need no quoting, and are written as they are: the generic
 * literal (quoting and escaping each value) took twice as long as JSON.stringify of the same rows.
 */
export function columnArrays(columns: readonly JsonColumn[], rows: readonly object[]): string[] {
  return columns.map(([, key, type]) => {
    const values = rows.map((r) => (r as Record<string, unknown>)[key]);
    if (type.endsWith("[]"))
      return arrayLiteral(
        values.map((v) => (v === null || v === undefined ? null : arrayLiteral(v as unknown[]))),
      );
    return type === "text" || type === "jsonb" ? arrayLiteral(values) : plainArrayLiteral(values);
  });
}

/**
 * insertFromArraysText's statement with its arrays as parameters (columnArrays): for statements
 * built through drizzle, as a conversion import's chunk is. Table and columns are code, never input.
 */
export function insertFromArraysSql(
  table: string,
  columns: readonly JsonColumn[],
  rows: readonly object[],
): SQL {
  const arrays = columnArrays(columns, rows);
  const source = columns.map(([, , type], i) =>
    type.endsWith("[]")
      ? sql`unnest(${arrays[i]}::text[])::${sql.raw(type)}`
      : sql`unnest(${arrays[i]}::${sql.raw(type)}[])`,
  );
  return sql`insert into ${sql.raw(`"${table}"`)} (${sql.raw(columns.map(([c]) => `"${c}"`).join(", "))})
    select ${sql.join(source, sql`, `)}`;
}

export async function insertFromJson(
  db: Executor,
  table: string,
  columns: readonly JsonColumn[],
  rows: readonly object[],
): Promise<void> {
  if (rows.length === 0) return;
  await db.execute(insertFromJsonSql(table, columns, rows));
}
