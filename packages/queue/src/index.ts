export {
  createBackoffStrategy,
  DEFAULT_POSTBACK_SCHEDULE,
  MAX_RETRY_AFTER_MS,
  POSTBACK_BACKOFF_TYPE,
  POSTBACK_JITTER,
  POSTBACK_RETRY_DELAYS_MS,
  RetryLater,
  type RetrySchedule,
  retryDelay,
} from "./backoff.ts";
export {
  acknowledgeFunnelVersion,
  type FunnelSavedMessage,
  type FunnelSaveListener,
  funnelSavedChannel,
  funnelSavedMessage,
  funnelVersionKey,
  listenFunnelSaves,
  publishFunnelVersion,
  readFunnelVersion,
} from "./funnel-versions.ts";
export {
  InvalidJobPayload,
  type JobName,
  type JobPayload,
  jobDefinitions,
  parseJobPayload,
  QUEUE_NAMES,
  type QueueName,
} from "./jobs.ts";
export { bullPrefix, isCluster, visitorKeys } from "./keyspace.ts";
export { deliverJob, jobIds, type OutboxJob, outboxJob } from "./outbox.ts";
export { createQueues, type EnqueueRequest, type QueueSet } from "./producer.ts";
export {
  createRedis,
  createRequestRedis,
  type Redis,
  type RedisHealth,
  redisServers,
  watchRedis,
} from "./redis.ts";
