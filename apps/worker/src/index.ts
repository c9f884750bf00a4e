export { decideFire, type FireDecision } from "@hitrail/core";
export type { WorkerMetrics } from "./metrics.ts";
export { createPostbackSender, type PostbackSender, type SendResult } from "./postbacks/sender.ts";
export { DEFAULT_RELAY_OPTIONS, OutboxRelay, type RelayOptions } from "./relay.ts";
export { DEFAULT_SWEEP_LOOP_OPTIONS, RollupSweepLoop, type SweepLoopOptions } from "./sweep-loop.ts";
export {
  type PostbackOptions,
  type RunningWorker,
  resolveQueues,
  startWorker,
  type WorkerOptions,
} from "./worker.ts";
