import { describe, expect, it } from "vitest";
import {
  type DatePreset,
  localDateOf,
  presetOf,
  presetRange,
  previousRange,
  rangeDays,
} from "../src/index.ts";

// Instants chosen where the zone's date differs from UTC's, across month, year and DST edges.
describe("presetRange: ranges in the workspace's zone", () => {
  const cases: Array<[string, string, DatePreset, string, string]> = [
    // 2026-03-01 02:30 UTC is still Feb 28 in New York (UTC−5).
    ["2026-03-01T02:30:00Z", "America/New_York", "today", "2026-02-28", "2026-02-28"],
    ["2026-03-01T02:30:00Z", "UTC", "today", "2026-03-01", "2026-03-01"],
    ["2026-03-01T02:30:00Z", "America/New_York", "yesterday", "2026-02-27", "2026-02-27"],
    ["2026-03-01T02:30:00Z", "America/New_York", "thisMonth", "2026-02-01", "2026-02-28"],
    ["2026-03-01T02:30:00Z", "America/New_York", "lastMonth", "2026-01-01", "2026-01-31"],
    ["2026-03-01T02:30:00Z", "UTC", "lastMonth", "2026-02-01", "2026-02-28"],
    // Dec 31 22:00 UTC is already Jan 1 in Tokyo (UTC+9): a new year and a new month.
    ["2026-12-31T22:00:00Z", "Asia/Tokyo", "today", "2027-01-01", "2027-01-01"],
    ["2026-12-31T22:00:00Z", "Asia/Tokyo", "yesterday", "2026-12-31", "2026-12-31"],
    ["2026-12-31T22:00:00Z", "Asia/Tokyo", "thisMonth", "2027-01-01", "2027-01-01"],
    ["2026-12-31T22:00:00Z", "Asia/Tokyo", "lastMonth", "2026-12-01", "2026-12-31"],
    ["2026-12-31T22:00:00Z", "Asia/Tokyo", "last7", "2026-12-26", "2027-01-01"],
    ["2026-12-31T22:00:00Z", "Asia/Tokyo", "last30", "2026-12-03", "2027-01-01"],
    // Half-hour zone: 2026-05-17 19:00 UTC is 00:30 on May 18 in Kolkata (UTC+5:30).
    ["2026-05-17T19:00:00Z", "Asia/Kolkata", "today", "2026-05-18", "2026-05-18"],
    ["2026-05-17T18:00:00Z", "Asia/Kolkata", "today", "2026-05-17", "2026-05-17"],
    // Seven days across Europe's spring DST change (Mar 29 2026) are still seven dates.
    ["2026-03-31T12:00:00Z", "Europe/Berlin", "last7", "2026-03-25", "2026-03-31"],
    // Leap year February.
    ["2028-03-10T12:00:00Z", "UTC", "lastMonth", "2028-02-01", "2028-02-29"],
  ];
  it.each(cases)("at %s in %s, %s is %s … %s", (now, zone, preset, from, to) => {
    expect(presetRange(preset, new Date(now), zone)).toEqual({ from, to });
  });
});

describe("previousRange: the same number of days right before", () => {
  const cases: Array<[string, string, string, string]> = [
    ["2026-05-17", "2026-05-17", "2026-05-16", "2026-05-16"],
    ["2026-05-11", "2026-05-17", "2026-05-04", "2026-05-10"],
    ["2026-03-01", "2026-03-31", "2026-01-29", "2026-02-28"],
    ["2027-01-01", "2027-01-02", "2026-12-30", "2026-12-31"],
  ];
  it.each(cases)("%s … %s compares with %s … %s", (from, to, pFrom, pTo) => {
    const prev = previousRange({ from, to });
    expect(prev).toEqual({ from: pFrom, to: pTo });
    expect(rangeDays(prev)).toBe(rangeDays({ from, to }));
  });
});

describe("presetOf and localDateOf", () => {
  const now = new Date("2026-05-17T12:00:00Z");
  it.each([
    [{ from: "2026-05-17", to: "2026-05-17" }, "today"],
    [{ from: "2026-05-11", to: "2026-05-17" }, "last7"],
    [{ from: "2026-04-01", to: "2026-04-30" }, "lastMonth"],
    [{ from: "2026-04-02", to: "2026-04-30" }, "custom"],
  ] as const)("%o is %s", (range, preset) => {
    expect(presetOf(range, now, "UTC")).toBe(preset);
  });
  it("reads the local date in the zone", () => {
    expect(localDateOf(new Date("2026-05-17T23:30:00Z"), "Europe/Berlin")).toBe("2026-05-18");
    expect(localDateOf(new Date("2026-05-17T23:30:00Z"), "America/Los_Angeles")).toBe("2026-05-17");
  });
});
