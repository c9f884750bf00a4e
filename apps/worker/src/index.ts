export { decideFire, type FireDecision } from "@hitrail/core";
export { DEFAULT_HIT_SWEEPER_OPTIONS, HitRollupSweeper, type HitSweeperOptions } from "./hit-sweeper.ts";
export type { WorkerMetrics } from "./metrics.ts";
export { createPostbackSender, type PostbackSender, type SendResult } from "./postbacks/sender.ts";
export { DEFAULT_RELAY_OPTIONS, OutboxRelay, type RelayOptions } from "./relay.ts";
export {
  type PostbackOptions,
  type RunningWorker,
  resolveQueues,
  startWorker,
  type WorkerOptions,
} from "./worker.ts";
