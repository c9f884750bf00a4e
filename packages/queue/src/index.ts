export {
  InvalidJobPayload,
  type JobName,
  type JobPayload,
  jobDefinitions,
  parseJobPayload,
  QUEUE_NAMES,
  type QueueName,
} from "./jobs.ts";
export { createQueues, type QueueSet } from "./producer.ts";
export { createRedis, type Redis } from "./redis.ts";
