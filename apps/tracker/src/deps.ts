import type { Env } from "@hitrail/config";
import type { DbClient } from "@hitrail/db";
import type { Logger } from "@hitrail/observability";
import type { QueueSet, Redis } from "@hitrail/queue";
import type { DbBreaker } from "./db-breaker.ts";
import type { HitWriter } from "./hit-writer.ts";
import type { RoutingSnapshot } from "./routing-snapshot.ts";
import type { SessionStore } from "./sessions.ts";
import type { HostWorkspace, WorkspaceResolver } from "./workspace-resolver.ts";

/** Everything the tracker's routes use; tests build it with their own database and Redis prefix. */
export interface TrackerDeps {
  env: Env;
  db: DbClient;
  redis: Redis;
  /** Redis key prefix for this deployment (or test file). */
  prefix: string;
  queues: QueueSet;
  logger: Logger;
  workspaces: WorkspaceResolver;
  /** PostgreSQL's circuit breaker: open while the database is known down. */
  breaker: DbBreaker;
  /** The last known routing objects in Redis, for starts and first sights during an outage. */
  snapshot: RoutingSnapshot;
  sessions: SessionStore;
  hits: HitWriter;
  /** Injected so tests can move time (session expiry, day/hour conditions). */
  now: () => number;
  /** Injected so rotator splits are reproducible under a seed. */
  rng: () => number;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The workspace the Host header routed to; set for every route but health checks. */
    workspace: HostWorkspace;
  }
}
