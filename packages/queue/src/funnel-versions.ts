import type { Redis } from "./redis.ts";

// The newest saved version of each funnel, mirrored in Redis by the api right after a save commits,
// so a tracker can tell on the very next click that its cached copy is old. Postgres stays the truth
// (trackers still poll funnels.version); this only closes the poll's window. One owner for the key,
// shared by the writer (api) and the readers (trackers).

export function funnelVersionKey(prefix: string, workspaceId: string, funnelId: string): string {
  return `${prefix}:routing:fv:${workspaceId}:${funnelId}`;
}

/** Kept as long as the routing snapshot keeps a funnel; a funnel untouched for that long needs no hint. */
const TTL_SECONDS = 14 * 86_400;

// Only ever raises the number: two saves racing may answer out of order, and an older version
// written last must not hide the newer one.
const RAISE = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local wanted = tonumber(ARGV[1])
if wanted > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return wanted
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return current`;

/** Records a committed funnel version; resolves once Redis has it (callers bound the wait). */
export async function publishFunnelVersion(
  redis: Redis,
  prefix: string,
  input: { workspaceId: string; funnelId: string; version: number },
): Promise<void> {
  await redis.eval(
    RAISE,
    1,
    funnelVersionKey(prefix, input.workspaceId, input.funnelId),
    String(input.version),
    String(TTL_SECONDS),
  );
}

/** The newest version the api recorded, or null when it recorded none (or Redis lost it). */
export async function readFunnelVersion(
  redis: Redis,
  prefix: string,
  workspaceId: string,
  funnelId: string,
): Promise<number | null> {
  const text = await redis.get(funnelVersionKey(prefix, workspaceId, funnelId));
  if (text === null) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}
