import { createHash, timingSafeEqual } from "node:crypto";
import ipaddr from "ipaddr.js";

export interface PostbackAccessSettings {
  postbackSecret: string | null;
  postbackIpAllowlist: readonly string[];
}

export type AccessCheck = { ok: true } | { ok: false; httpStatus: 401 | 403; error: string };

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

const parsedLists = new Map<string, Range[]>();

/** CIDRs (or bare addresses) as typed in the dashboard; entries that are neither are skipped. */
export function parseAllowlist(entries: readonly string[]): Range[] {
  const cacheKey = entries.join(",");
  const cached = parsedLists.get(cacheKey);
  if (cached) return cached;
  const ranges: Range[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === "") continue;
    try {
      if (entry.includes("/")) {
        const [addr, bits] = ipaddr.parseCIDR(entry);
        if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
          ranges.push([(addr as ipaddr.IPv6).toIPv4Address(), Math.max(0, bits - 96)]);
        } else {
          ranges.push([addr, bits]);
        }
      } else {
        const addr = ipaddr.process(entry);
        ranges.push([addr, addr.kind() === "ipv4" ? 32 : 128]);
      }
    } catch {
      // A malformed entry allows nothing; the dashboard validates entries when they are saved.
    }
  }
  if (parsedLists.size > 1_000) parsedLists.clear();
  parsedLists.set(cacheKey, ranges);
  return ranges;
}

export function ipAllowed(ip: string, entries: readonly string[]): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip); // IPv4-mapped IPv6 (::ffff:1.2.3.4) becomes IPv4
  } catch {
    return false;
  }
  return parseAllowlist(entries).some(([range, bits]) => {
    if (range.kind() !== addr.kind()) return false;
    return addr.kind() === "ipv4"
      ? (addr as ipaddr.IPv4).match(range as ipaddr.IPv4, bits)
      : (addr as ipaddr.IPv6).match(range as ipaddr.IPv6, bits);
  });
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * The workspace's optional walls in front of /pb/: an IP allow-list and a shared `key`. Both are off
 * until the user sets them.
 */
export function checkPostbackAccess(
  settings: PostbackAccessSettings,
  ip: string,
  key: string | undefined,
): AccessCheck {
  if (settings.postbackIpAllowlist.length > 0 && !ipAllowed(ip, settings.postbackIpAllowlist)) {
    return { ok: false, httpStatus: 403, error: `IP ${ip} is not on this workspace's postback allow-list` };
  }
  const secret = settings.postbackSecret;
  if (secret !== null && secret !== "") {
    const sent = key?.trim() ?? "";
    if (sent === "") {
      return {
        ok: false,
        httpStatus: 401,
        error: "key required: this workspace's postbacks must carry key=<postback key>",
      };
    }
    if (!timingSafeEqual(digest(sent), digest(secret))) {
      return {
        ok: false,
        httpStatus: 403,
        error: "bad key: key does not match this workspace's postback key",
      };
    }
  }
  return { ok: true };
}
