import { type ConnectionOptions, type JobsOptions, Queue } from "bullmq";
import {
  type JobName,
  type JobPayload,
  jobDefinitions,
  parseJobPayload,
  QUEUE_NAMES,
  type QueueName,
} from "./jobs.ts";

export interface QueueSet {
  prefix: string;
  get(name: QueueName): Queue;
  /** Typed producer: validates the payload, applies the job's default options. */
  enqueue<N extends JobName>(name: N, payload: JobPayload<N>, opts?: JobsOptions): Promise<string>;
  close(): Promise<void>;
}

export function createQueues(connection: ConnectionOptions, prefix: string): QueueSet {
  const queues = new Map<QueueName, Queue>();
  const get = (name: QueueName) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection, prefix: `${prefix}:bull` });
      queues.set(name, q);
    }
    return q;
  };
  return {
    prefix,
    get,
    async enqueue(name, payload, opts) {
      const def = jobDefinitions[name];
      const data = parseJobPayload(name, payload);
      const job = await get(def.queue).add(name, data, { ...def.options, ...opts });
      return job.id ?? "";
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

export { QUEUE_NAMES };
