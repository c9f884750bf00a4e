import { isUnreplacedMacro } from "../money.ts";

export type ConversionStatus = "approved" | "pending" | "rejected";

export const CONVERSION_STATUSES: readonly ConversionStatus[] = ["approved", "pending", "rejected"];

/** Seed: "pending, hold or preapproved" adjust revenue to 0.01. */
export const PENDING_WORDS: readonly string[] = ["pending", "hold", "preapproved"];
/** Seed: "rejected, reject, trash or cancelled" delete the conversion, or create none. */
export const REJECTED_WORDS: readonly string[] = ["rejected", "reject", "trash", "cancelled"];
/**
 * Any other word already means approved; naming these lets a strict map accept them without
 * listing them again.
 */
export const APPROVED_WORDS: readonly string[] = ["approved"];

/**
 * How one offer source speaks about status. Keys are words or codes, compared trimmed and
 * case-insensitively; the seed's words keep working unless a key here overrides them. With `strict`,
 * a word neither here nor in the seed is an error instead of a normal conversion.
 */
export interface StatusMap {
  words: Readonly<Record<string, ConversionStatus>>;
  strict: boolean;
}

export type StatusClassification =
  | { kind: "ok"; status: ConversionStatus; word: string | null }
  | { kind: "unknown"; word: string; known: string[] };

export function isConversionStatus(x: unknown): x is ConversionStatus {
  return x === "approved" || x === "pending" || x === "rejected";
}

function seedStatus(word: string): ConversionStatus | null {
  if (PENDING_WORDS.includes(word)) return "pending";
  if (REJECTED_WORDS.includes(word)) return "rejected";
  if (APPROVED_WORDS.includes(word)) return "approved";
  return null;
}

function mapStatus(map: StatusMap, word: string): ConversionStatus | null {
  // Maps are small and typed by users in the dashboard, so keys are normalized here rather than trusted.
  for (const [key, status] of Object.entries(map.words)) {
    if (key.trim().toLowerCase() === word && isConversionStatus(status)) return status;
  }
  return null;
}

/** Every word a map understands, the seed's included, for an "unknown status" message. */
export function knownStatusWords(map?: StatusMap): string[] {
  const words = new Set<string>([...PENDING_WORDS, ...REJECTED_WORDS, ...APPROVED_WORDS]);
  if (map) for (const key of Object.keys(map.words)) words.add(key.trim().toLowerCase());
  return [...words].filter((w) => w !== "").sort();
}

/**
 * The status word as understood, for the audit trail and the postback log: trimmed and lower-case;
 * null when none was sent (absent, empty or an unreplaced macro).
 */
export function statusWordOf(raw: string | undefined | null): string | null {
  if (raw === undefined || raw === null) return null;
  const trimmed = raw.trim();
  if (trimmed === "" || isUnreplacedMacro(trimmed)) return null;
  return trimmed.toLowerCase();
}

/**
 * Maps the `status` a network sent to a conversion status. Absent, empty or an unreplaced macro is a
 * normal conversion (seed: "any other value ... making a normal conversion").
 */
export function classifyStatus(raw: string | undefined | null, map?: StatusMap): StatusClassification {
  const word = statusWordOf(raw);
  if (word === null) return { kind: "ok", status: "approved", word: null };
  const status = (map ? mapStatus(map, word) : null) ?? seedStatus(word);
  if (status !== null) return { kind: "ok", status, word };
  if (map?.strict) return { kind: "unknown", word, known: knownStatusWords(map) };
  return { kind: "ok", status: "approved", word };
}

/** Checks a map typed in the dashboard; each message is plain words. */
export function validateStatusMap(map: StatusMap): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const [key, status] of Object.entries(map.words)) {
    const word = key.trim().toLowerCase();
    if (word === "") problems.push("a status word is empty");
    if (!isConversionStatus(status)) problems.push(`status word '${key}' maps to unknown status '${status}'`);
    const earlier = seen.get(word);
    if (earlier !== undefined) problems.push(`status words '${earlier}' and '${key}' are the same word`);
    seen.set(word, key);
  }
  return problems;
}

export interface StatusMapTemplate {
  label: string;
  description: string;
  map: StatusMap;
}

/** Starting points for offer-source status maps; users copy one and edit it. */
export const STATUS_MAP_TEMPLATES = {
  affise: {
    label: "Affise",
    description: "Affise numeric status codes: 1 approved, 2 pending, 3 declined, 5 hold.",
    map: {
      strict: false,
      words: {
        "1": "approved",
        "2": "pending",
        "3": "rejected",
        "5": "pending",
        confirmed: "approved",
        declined: "rejected",
      },
    },
  },
  clickbank: {
    label: "ClickBank",
    description:
      "ClickBank transaction types: SALE and BILL (rebill) approve; RFND (refund), CGBK (chargeback) " +
      "and INSF (insufficient funds) reject. Other types are reported, not counted.",
    map: {
      strict: true,
      words: {
        sale: "approved",
        bill: "approved",
        test_sale: "approved",
        rfnd: "rejected",
        cgbk: "rejected",
        insf: "rejected",
      },
    },
  },
  lead_sale: {
    label: "Lead / sale",
    description: "Networks that send the event name: lead and sale approve, rejected or declined reject.",
    map: {
      strict: true,
      words: {
        lead: "approved",
        sale: "approved",
        approved: "approved",
        declined: "rejected",
        rejected: "rejected",
      },
    },
  },
} as const satisfies Record<string, StatusMapTemplate>;

export type StatusMapTemplateName = keyof typeof STATUS_MAP_TEMPLATES;
