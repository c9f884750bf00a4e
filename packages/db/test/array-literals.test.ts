import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../src/index.ts";
import { arrayLiteral, plainArrayLiteral } from "../src/queries/bulk.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing/index.ts";

// The tracker's conversion batch sends one array literal per column. plainArrayLiteral writes its
// values unquoted; these round trips through PostgreSQL show each comes back as it went, and that a
// value that would need quoting cannot shift the values after it.
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

async function roundTrip(literal: string, type: string): Promise<Array<string | null>> {
  const rows = await t.sql.unsafe<Array<{ v: string | null }>>(`select unnest($1::${type}[])::text as v`, [
    literal,
  ]);
  return rows.map((r) => r.v);
}

describe("array literals of the conversion batch", () => {
  it.each([
    ["uuids and NULL", "uuid", [newId(), null, newId()]],
    ["integers", "int", [0, -3, 2147483647]],
    ["numerics as core writes them", "numeric", ["0.02", "-1", "12345678901.123456"]],
    ["enum-like labels", "text", ["approved", "pending", "rejected"]],
  ])("%s come back as sent", async (_name, type, values) => {
    const back = await roundTrip(plainArrayLiteral(values), type);
    expect(back).toEqual(values.map((v) => (v === null ? null : String(v))));
  });

  it("writes a Date and a time PostgreSQL printed (with its space) as the same instants", async () => {
    const at = new Date("2026-12-07T10:11:12.345Z");
    const rows = await t.sql.unsafe<Array<{ same: boolean }>>(
      "select v = $2::timestamptz as same from unnest($1::timestamptz[]) as v",
      [plainArrayLiteral([at, "2026-12-07 10:11:12.345+00"]), at.toISOString()],
    );
    expect(rows.map((r) => r.same)).toEqual([true, true]);
  });

  it.each([
    ["a comma", "a,b"],
    ["braces", "{x}"],
    ["a quote", 'say "hi"'],
    ["a backslash", "c:\\temp"],
  ])("a value with %s goes through the quoting literal: one value, nothing shifted", async (_name, odd) => {
    const values = ["first", odd, "last"];
    expect(plainArrayLiteral(values)).toBe(arrayLiteral(values));
    expect(await roundTrip(plainArrayLiteral(values), "text")).toEqual(values);
  });
});
