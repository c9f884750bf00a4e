import { type ConnectionOptions, type JobsOptions, Queue, type RepeatOptions } from "bullmq";
import {
  type JobName,
  type JobPayload,
  jobDefinitions,
  parseJobPayload,
  QUEUE_NAMES,
  type QueueName,
} from "./jobs.ts";
import { bullPrefix } from "./keyspace.ts";

export interface QueueSet {
  prefix: string;
  get(name: QueueName): Queue;
  /** Typed producer: validates the payload, applies the job's default options. */
  enqueue<N extends JobName>(name: N, payload: JobPayload<N>, opts?: JobsOptions): Promise<string>;
  /**
   * Many jobs in one round trip per queue (BullMQ addBulk). Each is validated first, so one bad
   * payload rejects the call before anything reaches Redis.
   */
  enqueueMany(jobs: readonly EnqueueRequest[]): Promise<string[]>;
  /** Creates or updates a repeating job (a BullMQ job scheduler) under a stable id. */
  schedule<N extends JobName>(
    schedulerId: string,
    name: N,
    payload: JobPayload<N>,
    repeat: Omit<RepeatOptions, "key">,
  ): Promise<void>;
  close(): Promise<void>;
}

/** One job for `enqueueMany`; typed by name like `enqueue`. */
export type EnqueueRequest = {
  [N in JobName]: { name: N; payload: JobPayload<N>; opts?: JobsOptions };
}[JobName];

export function createQueues(connection: ConnectionOptions, prefix: string): QueueSet {
  const queues = new Map<QueueName, Queue>();
  const keys = bullPrefix(prefix, (connection as { isCluster?: boolean }).isCluster === true);
  const get = (name: QueueName) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection, prefix: keys });
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
    async enqueueMany(jobs) {
      const byQueue = new Map<
        QueueName,
        Array<{ index: number; name: string; data: unknown; opts: JobsOptions }>
      >();
      jobs.forEach((job, index) => {
        const def = jobDefinitions[job.name];
        const data = parseJobPayload(job.name, job.payload);
        const list = byQueue.get(def.queue) ?? [];
        list.push({ index, name: job.name, data, opts: { ...def.options, ...job.opts } });
        byQueue.set(def.queue, list);
      });
      const ids: string[] = new Array(jobs.length).fill("");
      await Promise.all(
        [...byQueue].map(async ([queue, list]) => {
          const added = await get(queue).addBulk(list.map(({ name, data, opts }) => ({ name, data, opts })));
          added.forEach((job, i) => {
            const at = list[i]?.index;
            if (at !== undefined) ids[at] = job.id ?? "";
          });
        }),
      );
      return ids;
    },
    async schedule(schedulerId, name, payload, repeat) {
      const def = jobDefinitions[name];
      const data = parseJobPayload(name, payload);
      const { attempts, backoff, removeOnComplete, removeOnFail } = def.options;
      await get(def.queue).upsertJobScheduler(schedulerId, repeat, {
        name,
        data,
        opts: { attempts, backoff, removeOnComplete, removeOnFail },
      });
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

export { QUEUE_NAMES };
