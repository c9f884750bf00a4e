import { randomUUID } from "node:crypto";
import { Cluster } from "ioredis";
import { z } from "zod";
import type { Redis } from "./redis.ts";

// The newest saved version of each funnel, told to every live tracker by the api right after a save
// commits, so the very next click routes with the saved graph. Postgres stays the truth (trackers
// still poll funnels.version); this only closes the poll's window. The api publishes the version and
// waits until every tracker that received it has taken it in (each pushes an ack), so when the save
// answers, no tracker can route a later click with the old copy — and no click pays a Redis read
// for it. The version is also kept in a key, for tools and trackers that want to read it. One owner
// for the channel, the key and the ack, shared by the writer (api) and the readers (trackers).

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

/**
 * The channel saves are announced on; trackers subscribe to it. On a cluster it is a shard channel
 * (SPUBLISH/SSUBSCRIBE): a plain PUBLISH reaches every node but counts only the receivers on the
 * node it was sent to, and the api waits for exactly that many acks. A shard channel lives on one
 * master, which every subscriber connects to, so its count is every tracker's.
 */
export function funnelSavedChannel(prefix: string): string {
  return `${prefix}:routing:saved`;
}

/** A save as announced: the funnel's new version, and the list its receivers push their ack to. */
export const funnelSavedMessage = z.object({
  workspaceId: z.string(),
  funnelId: z.string(),
  version: z.number().int(),
  ack: z.string(),
});
export type FunnelSavedMessage = z.infer<typeof funnelSavedMessage>;

const ACK_TTL_SECONDS = 60;
const ACK_POLL_MS = 2;

/**
 * Records a committed funnel version, announces it, and resolves once every tracker that received
 * the announcement has acknowledged it (or `ackWithinMs` passed: a tracker that is stuck must not
 * hold a save; its own version poll catches up). Callers bound the whole wait.
 */
export async function publishFunnelVersion(
  redis: Redis,
  prefix: string,
  input: { workspaceId: string; funnelId: string; version: number },
  opts: { ackWithinMs?: number } = {},
): Promise<{ receivers: number; acked: number }> {
  await redis.eval(
    RAISE,
    1,
    funnelVersionKey(prefix, input.workspaceId, input.funnelId),
    String(input.version),
    String(TTL_SECONDS),
  );
  const ack = `${prefix}:routing:ack:${randomUUID()}`;
  const message: FunnelSavedMessage = { ...input, ack };
  const channel = funnelSavedChannel(prefix);
  const text = JSON.stringify(message);
  const receivers = Number(
    redis instanceof Cluster ? await redis.spublish(channel, text) : await redis.publish(channel, text),
  );
  const deadline = Date.now() + (opts.ackWithinMs ?? 250);
  let acked = 0;
  while (receivers > 0 && Date.now() < deadline) {
    acked = await redis.llen(ack);
    if (acked >= receivers) break;
    await new Promise((resolve) => setTimeout(resolve, ACK_POLL_MS));
  }
  if (receivers > 0) await redis.del(ack);
  return { receivers, acked };
}

/** What a tracker does with an announcement once it has taken the version in. */
export async function acknowledgeFunnelVersion(redis: Redis, message: FunnelSavedMessage): Promise<void> {
  await redis.multi().rpush(message.ack, "1").expire(message.ack, ACK_TTL_SECONDS).exec();
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

export interface FunnelSaveListener {
  /** Settles once the subscription is in place; rejects when it could not be made. */
  readonly listening: Promise<void>;
  close(): void;
}

/**
 * Listens to save announcements on a connection of its own (a subscribed connection can do nothing
 * else), sharded on a cluster. `onMessage` gets the raw text; the caller parses it.
 */
export function listenFunnelSaves(
  redis: Redis,
  prefix: string,
  onMessage: (text: string) => void,
): FunnelSaveListener {
  const channel = funnelSavedChannel(prefix);
  if (redis instanceof Cluster) {
    const subscriber = redis.duplicate([], { shardedSubscribers: true });
    subscriber.on("error", () => undefined);
    subscriber.on("smessage", (_channel: string, text: string) => onMessage(text));
    return {
      listening: subscriber.ssubscribe(channel).then(() => undefined),
      close: () => subscriber.disconnect(),
    };
  }
  const subscriber = redis.duplicate();
  // A subscriber connection that cannot reach Redis must not crash or flood the log.
  subscriber.on("error", () => undefined);
  subscriber.on("message", (_channel: string, text: string) => onMessage(text));
  return {
    listening: subscriber.subscribe(channel).then(() => undefined),
    close: () => subscriber.disconnect(),
  };
}
