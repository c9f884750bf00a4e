// Apps reach the database only through these query functions: drizzle's operators and the schema
// stay inside this package (tests get them from @hitrail/db/testing/sql).
export {
  createDb,
  type Database,
  type DbClient,
  type DbOptions,
  type Executor,
  ping,
  type Schema,
} from "./client.ts";
export { type EmbeddedDatabase, startEmbeddedPostgres } from "./embedded.ts";
export { idTime, isUuid, newId, newIdAt } from "./ids.ts";
export {
  MIGRATIONS_FOLDER,
  migrationStatus,
  provisionRoles,
  type RoleUrls,
  runMigrations,
} from "./migrate.ts";
export * from "./queries/access.ts";
export * from "./queries/campaign-kit.ts";
export * from "./queries/conversion-imports.ts";
export * from "./queries/conversions/index.ts";
export * from "./queries/cost-reports.ts";
export * from "./queries/costs.ts";
export * from "./queries/deliveries.ts";
export * from "./queries/domains.ts";
export * from "./queries/event-types.ts";
export * from "./queries/funnels.ts";
export * from "./queries/hits.ts";
export * from "./queries/landers.ts";
export * from "./queries/logs.ts";
export type { ObjectListInput } from "./queries/objects.ts";
export * from "./queries/offer-sources.ts";
export * from "./queries/offers.ts";
export * from "./queries/outbox.ts";
export * from "./queries/partitions.ts";
export * from "./queries/postback-log.ts";
export * from "./queries/reports.ts";
export * from "./queries/rollups.ts";
export * from "./queries/server.ts";
export * from "./queries/tag.ts";
export * from "./queries/traffic-sources.ts";
export * from "./queries/users.ts";
export * from "./queries/workspaces.ts";
export {
  currentWalLsn,
  type FallbackReason,
  formatLsn,
  isReplicaFailure,
  measureReplicaLag,
  NotAReplicaError,
  parseLsn,
  type ReadRoute,
  ReadRouter,
  type ReadRouterOptions,
  type ReplicaLag,
  type ReplicaState,
} from "./replica.ts";
export type { ImportMapping, ImportOptions } from "./schema/imports.ts";
export {
  type Lookup,
  runInWorkspaces,
  WORKSPACE_SCOPE_STATEMENT,
  withLookup,
  withWorkspace,
  workspaceScope,
  workspaceScopeSql,
} from "./tenancy.ts";
