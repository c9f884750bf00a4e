import { describe, expect, it } from "vitest";
import { idTime, isUuid, newId, newIdAt } from "../src/ids.ts";

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("ids", () => {
  it("newId mints version-7 UUIDs that sort in the order they were made and never repeat", () => {
    const before = Date.now();
    // More than one pool of randomness (2048 words, four or fewer per id) is drawn.
    const ids = Array.from({ length: 5_000 }, () => newId());
    const after = Date.now();
    for (const id of ids) expect(id).toMatch(V7);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(idTime(ids[0] as string)).toBeGreaterThanOrEqual(before);
    expect(idTime(ids.at(-1) as string)).toBeLessThanOrEqual(after);
  });

  it("newIdAt carries the given millisecond, the version and the variant, with random rest", () => {
    const at = Date.UTC(2026, 4, 1, 12, 30, 15, 123);
    const a = newIdAt(at);
    const b = newIdAt(new Date(at));
    expect(a).toMatch(V7);
    expect(isUuid(b)).toBe(true);
    expect(idTime(a)).toBe(at);
    expect(idTime(b)).toBe(at);
    expect(a).not.toBe(b);
  });
});
