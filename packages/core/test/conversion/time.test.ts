import { describe, expect, it } from "vitest";
import { decideConversionTime, parseConversionTime } from "../../src/index.ts";

const T = Date.UTC(2026, 4, 17, 12, 0, 0);

describe("parseConversionTime", () => {
  const cases: Array<[unknown, ReturnType<typeof parseConversionTime>]> = [
    [undefined, { kind: "absent", macro: null }],
    ["", { kind: "absent", macro: null }],
    ["{timestamp}", { kind: "absent", macro: "{timestamp}" }],
    [String(T / 1000), { kind: "value", at: T }],
    [`${T / 1000}.25`, { kind: "value", at: T + 250 }],
    [String(T), { kind: "value", at: T }],
    ["2026-05-17T12:00:00Z", { kind: "value", at: T }],
    ["2026-05-17T14:00:00+02:00", { kind: "value", at: T }],
    ["2026-05-17T14:00:00+0200", { kind: "value", at: T }],
    ["2026-05-17 12:00:00", { kind: "value", at: T }],
    ["2026-05-17T12:00", { kind: "value", at: T }],
    ["2026-05-17", { kind: "value", at: Date.UTC(2026, 4, 17) }],
    ["yesterday", { kind: "invalid", reason: "ts 'yesterday' is not unix seconds or an ISO-8601 time" }],
    ["2026-13-45T00:00:00Z", { kind: "invalid", reason: "ts '2026-13-45T00:00:00Z' is not a valid time" }],
    ["946684799", { kind: "invalid", reason: "ts '946684799' is before the year 2000" }],
    ["-5", { kind: "invalid", reason: "ts '-5' is not unix seconds or an ISO-8601 time" }],
  ];
  for (const [raw, expected] of cases) {
    it(`${JSON.stringify(raw)}`, () => {
      const got = parseConversionTime(raw);
      if (got.kind === "invalid" && expected.kind === "invalid") {
        expect(got.reason.replace(/"/g, "'")).toBe(expected.reason);
      } else {
        expect(got).toEqual(expected);
      }
    });
  }
});

describe("decideConversionTime", () => {
  const hitAt = T - 3_600_000;
  const cases = [
    { name: "none sent: when it was received", requested: null, receivedAt: T, at: T, note: false },
    {
      name: "a late postback keeps the time it says",
      requested: T - 60_000,
      receivedAt: T,
      at: T - 60_000,
      note: false,
    },
    { name: "the future is the receive time", requested: T + 60_000, receivedAt: T, at: T, note: true },
    {
      name: "before the visit is the visit's time",
      requested: hitAt - 1,
      receivedAt: T,
      at: hitAt,
      note: true,
    },
    { name: "exactly the visit's time is fine", requested: hitAt, receivedAt: T, at: hitAt, note: false },
    {
      name: "a receive clock behind the visit still never precedes it",
      requested: null,
      receivedAt: hitAt - 5,
      at: hitAt,
      note: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = decideConversionTime({ requested: c.requested, receivedAt: c.receivedAt, hitAt });
      expect(d.at).toBe(c.at);
      expect(d.note !== null).toBe(c.note);
    });
  }
});
