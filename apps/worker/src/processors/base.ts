import { captureException, type Logger } from "@hitrail/observability";
import {
  InvalidJobPayload,
  type JobName,
  type JobPayload,
  jobDefinitions,
  parseJobPayload,
  type QueueName,
  RetryLater,
} from "@hitrail/queue";
import { DelayedError, type Job, type Processor, UnrecoverableError } from "bullmq";

export interface JobContext {
  job: Job;
  /** The lock token BullMQ hands the processor; needed to move the job (moveToDelayed). */
  token: string | undefined;
  logger: Logger;
}

export type JobHandler<N extends JobName> = (payload: JobPayload<N>, ctx: JobContext) => Promise<unknown>;
export type JobHandlers = { [N in JobName]?: JobHandler<N> };

/**
 * Errors a handler throws on purpose as part of its normal flow (a receiver that failed, a job put
 * back for later, a delivery given up): BullMQ acts on them, but they are not bugs, so they go
 * neither to Sentry nor to the error log.
 */
function isExpected(error: unknown): boolean {
  return error instanceof RetryLater || error instanceof DelayedError || error instanceof UnrecoverableError;
}

/**
 * The processor of one queue: dispatches by job name, validates the payload with the same schema
 * the producer used, and turns an invalid payload into an UnrecoverableError (retrying it would
 * fail the same way forever). Unexpected errors are logged and sent to Sentry, then rethrown so
 * BullMQ retries the job with its backoff.
 */
export function createProcessor(queue: QueueName, handlers: JobHandlers, logger: Logger): Processor {
  return async (job, token) => {
    const name = job.name as JobName;
    const handler = handlers[name] as JobHandler<JobName> | undefined;
    if (!handler || jobDefinitions[name]?.queue !== queue) {
      logger.error({ queue, job: job.name, jobId: job.id }, "no handler for job");
      throw new UnrecoverableError(`no handler for job '${job.name}' on queue '${queue}'`);
    }
    let payload: JobPayload<JobName>;
    try {
      payload = parseJobPayload(name, job.data);
    } catch (error) {
      if (!(error instanceof InvalidJobPayload)) throw error;
      logger.warn(
        { queue, job: name, jobId: job.id, issues: error.issues },
        "invalid job payload: not retried",
      );
      throw new UnrecoverableError(error.message);
    }
    try {
      return await handler(payload, { job, token, logger });
    } catch (error) {
      if (isExpected(error)) throw error;
      logger.error(
        { err: error, queue, job: name, jobId: job.id, attempt: job.attemptsMade + 1 },
        "job failed",
      );
      captureException(error, { queue, job: name, jobId: job.id, attempt: job.attemptsMade + 1 });
      throw error;
    }
  };
}
