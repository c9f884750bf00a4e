import ipaddr from "ipaddr.js";
import type { ConditionRoute, Rule, VisitContext } from "./graph.ts";

// Whether a visit matches a condition node's rules. Runs per click, so what is costly to build
// (date formatters, parsed IP ranges) is kept.

const dateFormats = new Map<string, Intl.DateTimeFormat>();

// Formatters are costly to build and routing runs per click, so one is kept per zone.
function formatFor(timeZone: string): Intl.DateTimeFormat {
  let format = dateFormats.get(timeZone);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat("en-US", {
        timeZone,
        weekday: "short",
        hour: "numeric",
        hourCycle: "h23",
      });
    } catch {
      // validateFunnel reports a bad zone when the funnel is saved; a click must still route.
      format = formatFor("UTC");
    }
    dateFormats.set(timeZone, format);
  }
  return format;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** Weekday ("mon".."sun") and hour (0..23) of an instant in a time zone. */
export function localWeekdayHour(now: number, timeZone: string): { weekday: string; hour: number } {
  let weekday = "";
  let hour = 0;
  for (const part of formatFor(timeZone).formatToParts(now)) {
    if (part.type === "weekday") weekday = part.value.toLowerCase().slice(0, 3);
    if (part.type === "hour") hour = Number.parseInt(part.value, 10) % 24;
  }
  return { weekday, hour };
}

export type IpRange = [ipaddr.IPv4 | ipaddr.IPv6, number];

export function parseIpRange(value: string): IpRange | null {
  const v = value.trim();
  try {
    if (v.includes("/")) {
      const [addr, bits] = ipaddr.parseCIDR(v);
      if (addr.kind() === "ipv4" && !ipaddr.IPv4.isValidFourPartDecimal(v.split("/")[0] ?? "")) return null;
      return [addr, bits];
    }
    if (ipaddr.IPv4.isValidFourPartDecimal(v)) return [ipaddr.IPv4.parse(v), 32];
    if (ipaddr.IPv6.isValid(v)) return [ipaddr.IPv6.parse(v), 128];
  } catch {
    return null;
  }
  return null;
}

const parsedRanges = new WeakMap<readonly string[], Array<IpRange | null>>();

function rangesOf(values: readonly string[]): Array<IpRange | null> {
  let ranges = parsedRanges.get(values);
  if (ranges === undefined) {
    ranges = values.map(parseIpRange);
    parsedRanges.set(values, ranges);
  }
  return ranges;
}

function ipInRanges(ip: string, values: readonly string[]): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process() turns an IPv4-mapped IPv6 address (::ffff:1.2.3.4) back into IPv4.
    addr = ipaddr.process(ip.trim());
  } catch {
    return false;
  }
  for (const range of rangesOf(values)) {
    if (range === null) continue;
    const [net, bits] = range;
    if (addr.kind() === net.kind()) {
      if (addr.match(range)) return true;
    } else if (addr.kind() === "ipv4" && net.kind() === "ipv6") {
      if ((addr as ipaddr.IPv4).toIPv4MappedAddress().match([net, bits])) return true;
    }
  }
  return false;
}

function primaryLanguage(raw: string): string {
  // Accepts a bare tag ("en-US") or a whole Accept-Language header ("en-US,en;q=0.9").
  const first = raw.split(",")[0]?.split(";")[0] ?? "";
  return first.trim().replace(/_/g, "-").toLowerCase();
}

function fieldMatches(rule: Rule, ctx: VisitContext, timeZone: string): boolean {
  const lower = (v: string | null) => (v === null ? null : v.trim().toLowerCase());
  const anyEqual = (v: string | null) => v !== null && rule.values.some((x) => x.trim().toLowerCase() === v);
  switch (rule.field) {
    case "country":
      return anyEqual(lower(ctx.country));
    case "device":
      return anyEqual(lower(ctx.device));
    case "os":
      return anyEqual(lower(ctx.os));
    case "browser":
      return anyEqual(lower(ctx.browser));
    case "language": {
      if (ctx.language === null) return false;
      const tag = primaryLanguage(ctx.language);
      const primary = tag.split("-")[0] ?? tag;
      return rule.values.some((x) => {
        const want = x.trim().replace(/_/g, "-").toLowerCase();
        return want === tag || (!want.includes("-") && want === primary);
      });
    }
    case "ip":
      return ctx.ip !== null && ipInRanges(ctx.ip, rule.values);
    case "weekday":
      return anyEqual(localWeekdayHour(ctx.now, timeZone).weekday);
    case "hour": {
      const { hour } = localWeekdayHour(ctx.now, timeZone);
      return rule.values.some((x) => /^\d{1,2}$/.test(x.trim()) && Number.parseInt(x, 10) === hour);
    }
    case "query": {
      if (rule.param === undefined) return false;
      const value = Object.hasOwn(ctx.query, rule.param) ? ctx.query[rule.param] : undefined;
      // Query values are the sender's data (sub IDs, keywords), so they compare exactly.
      return value !== undefined && rule.values.includes(value);
    }
  }
}

/** Whether a visit satisfies one rule; "not_in" is the exact negation of "in" (unknown counts as not in). */
export function ruleMatches(rule: Rule, ctx: VisitContext, timeZone: string): boolean {
  const inValues = fieldMatches(rule, ctx, timeZone);
  return rule.op === "not_in" ? !inValues : inValues;
}

export function conditionRouteMatches(route: ConditionRoute, ctx: VisitContext, timeZone: string): boolean {
  return route.match === "all"
    ? route.rules.every((r) => ruleMatches(r, ctx, timeZone))
    : route.rules.some((r) => ruleMatches(r, ctx, timeZone));
}
