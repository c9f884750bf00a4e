import type { Redis } from "./redis.ts";

// Redis key names that differ on a Redis Cluster. A cluster refuses a command or a Lua script whose
// keys live in different hash slots, and a slot is chosen from the part of a key inside its first
// `{…}` (the hash tag) when there is one. So keys used together share a tag, and keys that need not
// meet carry their own, which spreads them across the masters. On one server the names stay as they
// always were: an upgrade must not strand queued jobs or live visitor sessions under new names.

/** Whether this connection is to a Redis Cluster. */
export function isCluster(redis: Pick<Redis, "isCluster">): boolean {
  return redis.isCluster === true;
}

/**
 * The BullMQ key prefix under a deployment's REDIS_PREFIX; producers and workers must agree on it.
 * On a cluster it is one hash tag, as BullMQ requires: a queue's scripts touch many of its keys at
 * once, so every queue key shares one slot.
 */
export function bullPrefix(prefix: string, cluster = false): string {
  return cluster ? `{${prefix}:q}` : `${prefix}:bull`;
}

/**
 * A visitor session's two keys (the hash with its entry data, the list of its hits), written by one
 * script and read by one MULTI. On a cluster they share the visitor's tag, so one visitor is on one
 * master and visitors spread across all of them.
 */
export function visitorKeys(
  prefix: string,
  cluster: boolean,
  workspaceId: string,
  visitorId: string,
): { meta: string; hits: string } {
  const base = cluster
    ? `${prefix}:v:{${workspaceId}:${visitorId}}`
    : `${prefix}:v:${workspaceId}:${visitorId}`;
  return { meta: base, hits: `${base}:h` };
}
