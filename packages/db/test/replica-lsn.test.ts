import { describe, expect, it } from "vitest";
import { formatLsn, isReplicaFailure, parseLsn } from "../src/replica.ts";

describe("WAL positions", () => {
  it.each([
    ["0/0", 0n],
    ["0/16B3748", 0x16b3748n],
    ["16/B374D848", (0x16n << 32n) | 0xb374d848n],
    ["FFFFFFFF/FFFFFFFF", 0xffffffffffffffffn],
  ])("%s is %s, and back", (text, value) => {
    expect(parseLsn(text)).toBe(value);
    expect(formatLsn(value)).toBe(text);
  });

  it("orders positions by their 64-bit value, not as text", () => {
    expect(parseLsn("1/0") > parseLsn("0/FFFFFFFF")).toBe(true);
    expect(parseLsn("A/0") > parseLsn("9/FFFFFFFF")).toBe(true);
  });

  it.each(["", "16", "16/", "/1", "G/1", "1/2/3", "123456789/0"])("refuses %j", (text) => {
    expect(() => parseLsn(text)).toThrow(/not a WAL position/);
  });
});

describe("which failures of a read the primary may answer instead", () => {
  const pg = (code: string) => Object.assign(new Error(code), { code });
  it.each([
    ["connection refused", Object.assign(new Error("connect"), { code: "ECONNREFUSED" }), true],
    ["server shutting down (57P01)", pg("57P01"), true],
    ["connection failure class 08", pg("08006"), true],
    ["cancelled by recovery conflict (40001 on a standby)", pg("40001"), true],
    ["the driver's closed connection", pg("CONNECTION_CLOSED"), true],
    [
      "wrapped by drizzle and tRPC",
      new Error("query failed", { cause: new Error("x", { cause: pg("57P01") }) }),
      true,
    ],
    ["a bad value (22P02)", pg("22P02"), false],
    ["a missing row", new Error("not found"), false],
    ["permission denied (42501)", pg("42501"), false],
  ])("%s → %s", (_name, error, expected) => {
    expect(isReplicaFailure(error)).toBe(expected);
  });
});
