// Report date ranges as a media buyer names them, in the workspace's time zone. A pure function of
// the current instant and the zone: the dashboard passes Date.now(), tests pass fixed instants.

export const DATE_PRESETS = ["today", "yesterday", "last7", "last30", "thisMonth", "lastMonth"] as const;
export type DatePreset = (typeof DATE_PRESETS)[number];

export const DATE_PRESET_LABELS: Record<DatePreset | "custom", string> = {
  today: "Today",
  yesterday: "Yesterday",
  last7: "Last 7 days",
  last30: "Last 30 days",
  thisMonth: "This month",
  lastMonth: "Last month",
  custom: "Custom",
};

/** Local dates, inclusive, as YYYY-MM-DD. */
export interface LocalDateRange {
  from: string;
  to: string;
}

/** The local calendar date of an instant in a zone (YYYY-MM-DD). */
export function localDateOf(at: Date, timeZone: string): string {
  // en-CA formats as YYYY-MM-DD; formatToParts keeps us independent of that detail anyway.
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(at);
  const part = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")}`;
}

// Calendar arithmetic on plain dates happens in UTC, where every day has 24 hours: a zone's DST
// change cannot shift a date by one.
const toUtc = (date: string) => Date.parse(`${date}T00:00:00Z`);
const fromUtc = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** `date` plus `days` calendar days (negative to go back). */
export function addDays(date: string, days: number): string {
  return fromUtc(toUtc(date) + days * 86_400_000);
}

/** Days in an inclusive range (a single day is 1). */
export function rangeDays(range: LocalDateRange): number {
  return Math.round((toUtc(range.to) - toUtc(range.from)) / 86_400_000) + 1;
}

/** The range a preset names at instant `now`, in `timeZone`. */
export function presetRange(preset: DatePreset, now: Date, timeZone: string): LocalDateRange {
  const today = localDateOf(now, timeZone);
  const monthStart = `${today.slice(0, 8)}01`;
  switch (preset) {
    case "today":
      return { from: today, to: today };
    case "yesterday": {
      const d = addDays(today, -1);
      return { from: d, to: d };
    }
    case "last7":
      return { from: addDays(today, -6), to: today };
    case "last30":
      return { from: addDays(today, -29), to: today };
    case "thisMonth":
      return { from: monthStart, to: today };
    case "lastMonth": {
      const lastDay = addDays(monthStart, -1);
      return { from: `${lastDay.slice(0, 8)}01`, to: lastDay };
    }
  }
}

/**
 * The period a report compares with: the same number of days right before it (a month against the
 * days before it, not the previous calendar month, so both sides have the same length).
 */
export function previousRange(range: LocalDateRange): LocalDateRange {
  const days = rangeDays(range);
  return { from: addDays(range.from, -days), to: addDays(range.from, -1) };
}

/** Which preset a range is at `now`, or "custom". */
export function presetOf(range: LocalDateRange, now: Date, timeZone: string): DatePreset | "custom" {
  for (const p of DATE_PRESETS) {
    const r = presetRange(p, now, timeZone);
    if (r.from === range.from && r.to === range.to) return p;
  }
  return "custom";
}
