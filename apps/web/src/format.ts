// Numbers as a media buyer reads them: money in the workspace currency, ratios as percentages.

export function money(value: string | null | undefined, currency: string): string {
  if (value === null || value === undefined) return "—";
  const n = Number(value);
  if (!Number.isFinite(n)) return value;
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency, maximumFractionDigits: 2 }).format(
      n,
    );
  } catch {
    return `${n.toFixed(2)} ${currency}`;
  }
}

export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : new Intl.NumberFormat().format(n);
}

export function percent(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined ? "—" : `${(ratio * 100).toFixed(2)}%`;
}

export function dateTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : "—";
}

/** Today and n−1 days before it as local YYYY-MM-DD in a time zone. */
export function lastDays(n: number, timeZone: string): { from: string; to: string } {
  const fmt = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  });
  const now = Date.now();
  return { from: fmt.format(new Date(now - (n - 1) * 86_400_000)), to: fmt.format(new Date(now)) };
}
