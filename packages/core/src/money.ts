// Money is a canonical decimal string ("12.5", "30", "0.01", "-1"): floats never touch a stored value.
// Arithmetic runs on BigInt micro-units (6 fractional digits), so sums are exact.

export const MONEY_SCALE = 6;
/** Largest integer part accepted; 12 digits fit a Postgres `numeric(18, 6)` column. */
export const MONEY_MAX_INTEGER_DIGITS = 12;

/**
 * The most one conversion may be worth, in the workspace's currency. Anything above is refused (400)
 * on every channel: a typo or a forged postback, never a sale. Rollup sums stay far inside their
 * columns with it (see packages/db/src/schema/columns.ts, ROLLUP_MONEY).
 */
export const MAX_CONVERSION_REVENUE = "1000000";

/** Revenue of a conversion held as pending (pending, hold, preapproved): a tiny placeholder. */
export const PENDING_REVENUE = "0.01";
/** Revenue the seed gives a rejected conversion: it means "delete it, or create none". */
export const REJECTED_REVENUE = "-1";

export type Revenue = { kind: "absent" } | { kind: "value"; value: string };
export type RevenueParse = Revenue | { kind: "invalid"; reason: string };

const UNIT = 10n ** BigInt(MONEY_SCALE);
const MAX_MICROS = 10n ** BigInt(MONEY_MAX_INTEGER_DIGITS + MONEY_SCALE);
const MAX_CONVERSION_MICROS = BigInt(MAX_CONVERSION_REVENUE) * UNIT;
const REJECTED_MICROS = -UNIT;

// The delimiters networks and trackers put around a token name. A value that is nothing but one of
// these around a name was never substituted by the sender.
const MACRO_DELIMITERS: ReadonlyArray<readonly [string, string]> = [
  ["{{", "}}"],
  ["{", "}"],
  ["[[", "]]"],
  ["[", "]"],
  ["%", "%"],
  ["#", "#"],
  ["${", "}"],
  ["$", "$"],
  ["$", ""],
  ["<<", ">>"],
  ["<", ">"],
];
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const MACRO = new RegExp(
  `^(?:${MACRO_DELIMITERS.map(([open, close]) => {
    // "$payout" has no closing delimiter, so spaces inside would make "$ 5" a macro: none allowed there.
    const name = close === "" ? "[A-Za-z_][A-Za-z0-9_.:-]*" : "\\s*[A-Za-z_][A-Za-z0-9_.:-]*\\s*";
    return `${escapeRegExp(open)}${name}${escapeRegExp(close)}`;
  }).join("|")})$`,
);

/**
 * True when a parameter holds a network token that was never replaced: `{payout}`, `{{payout}}`,
 * `[payout]`, `%payout%`, `#payout#`, `$payout`, `${payout}`, `<payout>`, or the literal `REPLACE`
 * from our own documented postback URL.
 */
export function isUnreplacedMacro(value: string): boolean {
  const v = value.trim();
  if (v === "REPLACE") return true;
  if (v.length < 2 || v.length > 128) return false;
  return MACRO.test(v);
}

// Sign, integer digits, optional decimal separator and fraction; either side of the separator may be
// empty but not both (".5" and "5." are both accepted).
const LENIENT = /^([+-]?)(\d*)(?:[.,](\d*))?$/;
const STRICT = /^([+-]?)(\d*)(?:\.(\d*))?$/;

function digitsToMicros(sign: string, int: string, frac: string): bigint {
  let micros = BigInt(int === "" ? "0" : int) * UNIT;
  const kept = frac.slice(0, MONEY_SCALE).padEnd(MONEY_SCALE, "0");
  micros += BigInt(kept);
  // Networks sometimes send more precision than we store: round half away from zero.
  const dropped = frac.slice(MONEY_SCALE);
  if (dropped !== "" && dropped.charCodeAt(0) >= 53 /* "5" */) micros += 1n;
  return sign === "-" ? -micros : micros;
}

function matchToMicros(m: RegExpExecArray | null): bigint | null {
  if (m === null) return null;
  const int = m[2] ?? "";
  const frac = m[3] ?? "";
  if (int === "" && frac === "") return null;
  return digitsToMicros(m[1] ?? "", int, frac);
}

/**
 * The canonical string of an amount that needs no rounding and cannot be too large (at most
 * MONEY_MAX_INTEGER_DIGITS integer digits, at most MONEY_SCALE fractional ones), made from its
 * digits as microsToMoney(digitsToMicros(…)) would make it; null for any other. A traffic source's
 * cost on every entrance click is such an amount, and BigInt arithmetic was most of reading it.
 */
function plainMoney(m: RegExpExecArray): string | null {
  const rawInt = m[2] ?? "";
  const rawFrac = m[3] ?? "";
  if (rawInt === "" && rawFrac === "") return null;
  if (rawInt.length > MONEY_MAX_INTEGER_DIGITS || rawFrac.length > MONEY_SCALE) return null;
  let i = 0;
  while (i < rawInt.length - 1 && rawInt.charCodeAt(i) === 48 /* "0" */) i++;
  const int = rawInt === "" ? "0" : rawInt.slice(i);
  let f = rawFrac.length;
  while (f > 0 && rawFrac.charCodeAt(f - 1) === 48) f--;
  const frac = rawFrac.slice(0, f);
  const body = frac === "" ? int : `${int}.${frac}`;
  return m[1] === "-" && body !== "0" ? `-${body}` : body;
}

/** Formats micro-units as a canonical money string. */
export function microsToMoney(micros: bigint): string {
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const int = abs / UNIT;
  const frac = (abs % UNIT).toString().padStart(MONEY_SCALE, "0").replace(/0+$/, "");
  const body = frac === "" ? int.toString() : `${int}.${frac}`;
  return negative ? `-${body}` : body;
}

/** Parses a plain decimal ("12.500000" as Postgres returns it, or a canonical value) to micro-units. */
export function moneyToMicros(x: string): bigint {
  const micros = matchToMicros(STRICT.exec(x.trim()));
  if (micros === null) throw new RangeError(`'${x}' is not a decimal amount`);
  return micros;
}

/** Canonical form of a decimal amount; throws a RangeError on anything that is not one. */
export function normalizeMoney(x: string): string {
  return microsToMoney(moneyToMicros(x));
}

export function isMoney(x: string): boolean {
  const micros = matchToMicros(STRICT.exec(x.trim()));
  return micros !== null && (micros < 0n ? -micros : micros) < MAX_MICROS;
}

export function addMoney(a: string, b: string): string {
  return microsToMoney(moneyToMicros(a) + moneyToMicros(b));
}

export function subtractMoney(a: string, b: string): string {
  return microsToMoney(moneyToMicros(a) - moneyToMicros(b));
}

export function compareMoney(a: string, b: string): -1 | 0 | 1 {
  const x = moneyToMicros(a);
  const y = moneyToMicros(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function moneyEquals(a: string, b: string): boolean {
  return compareMoney(a, b) === 0;
}

/** Shortens a received value for an error message so logs stay readable. */
export function quoteValue(raw: string, max = 64): string {
  const short = raw.length > max ? `${raw.slice(0, max)}…` : raw;
  return `'${short}'`;
}

/**
 * Reads the `rev` a network sent. Empty and unreplaced macros are absent (the offer's default payout
 * applies); "12.50", "12,50", "+3" and "-5" (refunds) are values; exponents, thousands separators,
 * currency signs and anything else are invalid, with the reason in plain words.
 */
export function parseRevenue(raw: string | undefined | null): RevenueParse {
  if (raw === undefined || raw === null) return { kind: "absent" };
  const v = raw.trim();
  if (v === "" || isUnreplacedMacro(v)) return { kind: "absent" };
  const m = LENIENT.exec(v);
  const plain = m === null ? null : plainMoney(m);
  if (plain !== null) return { kind: "value", value: plain };
  const micros = matchToMicros(m);
  if (micros === null) {
    const why = /^[+-]?\d+([.,]\d+)?[eE][+-]?\d+$/.test(v)
      ? " (exponents are not accepted)"
      : /^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$|^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$/.test(v)
        ? " (thousands separators are not accepted)"
        : "";
    return { kind: "invalid", reason: `rev ${quoteValue(v)} is not a number${why}` };
  }
  if ((micros < 0n ? -micros : micros) >= MAX_MICROS) {
    return {
      kind: "invalid",
      reason: `rev ${quoteValue(v)} is too large (at most ${MONEY_MAX_INTEGER_DIGITS} integer digits)`,
    };
  }
  return { kind: "value", value: microsToMoney(micros) };
}

/**
 * Why an amount cannot be one conversion's revenue, or null when it can: 0 up to
 * MAX_CONVERSION_REVENUE, or exactly -1 (the seed's delete marker). `what` names the field.
 */
export function conversionRevenueProblem(value: string, what = "rev", shown = value): string | null {
  const micros = matchToMicros(STRICT.exec(value.trim()));
  if (micros === null) return `${what} ${quoteValue(shown)} is not a number`;
  if (micros > MAX_CONVERSION_MICROS) {
    return `${what} ${quoteValue(shown)} is above the maximum of ${MAX_CONVERSION_REVENUE} per conversion`;
  }
  if (micros < 0n && micros !== REJECTED_MICROS) {
    return `${what} ${quoteValue(shown)} is negative; ${REVERSE_A_CONVERSION}`;
  }
  return null;
}

/**
 * What a refused negative amount answers: a conversion is reversed, never given negative revenue
 * (refunds and chargebacks delete it, the revision kept), and these are the ways to say so.
 */
export const REVERSE_A_CONVERSION =
  "the only negative value accepted is -1, which deletes the conversion. To reverse a conversion send " +
  "status=rejected (or reject, trash, cancelled), rev=-1, or a word the offer source's status map " +
  "maps to rejected (a chargeback or refund code)";

/** True for revenue that is the seed's delete marker: -1 means "rejected", whatever the status says. */
export function isRejectedRevenue(revenue: Revenue): boolean {
  return revenue.kind === "value" && revenue.value === REJECTED_REVENUE;
}

/**
 * The `rev` of a conversion (postback, tag, action trigger): parseRevenue, then the per-conversion
 * bounds. Seed behaviour is kept: absent → the default payout; -1 → delete (like a rejected status).
 */
export function parseConversionRevenue(raw: string | undefined | null): RevenueParse {
  const parsed = parseRevenue(raw);
  if (parsed.kind !== "value") return parsed;
  const problem = conversionRevenueProblem(parsed.value, "rev", (raw ?? "").trim());
  return problem === null ? parsed : { kind: "invalid", reason: problem };
}
