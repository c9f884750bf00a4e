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
  funnelSavedChannel,
  funnelSavedMessage,
  funnelVersionKey,
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
export { deliverJob, jobIds, type OutboxJob, outboxJob } from "./outbox.ts";
export { bullPrefix, createQueues, type EnqueueRequest, type QueueSet } from "./producer.ts";
export { createRedis, createRequestRedis, type Redis, type RedisHealth, watchRedis } from "./redis.ts";
