import { type JobName, type JobPayload, parseJobPayload } from "./jobs.ts";

// The outbox carries jobs across a commit: a change writes the job in its own transaction and the
// worker's relay hands it to BullMQ afterwards. The job is built here, typed by name and validated
// like any other; the database stores what it is given.

/** A job as an outbox row holds it until the relay enqueues it. */
export interface OutboxJob<N extends JobName = JobName> {
  topic: N;
  /** Stable, so a relay that crashes after enqueueing re-enqueues the same job, not a twin. */
  jobId: string;
  payload: JobPayload<N>;
  delayMs: number;
}

/** Builds an outbox job, its payload validated against the job's schema. */
export function outboxJob<N extends JobName>(
  name: N,
  payload: JobPayload<N>,
  opts: { jobId: string; delayMs?: number },
): OutboxJob<N> {
  return {
    topic: name,
    jobId: opts.jobId,
    payload: parseJobPayload(name, payload),
    delayMs: opts.delayMs ?? 0,
  };
}

/**
 * Job ids. BullMQ ignores a second job under an id it still holds, so an id says which run a job is:
 * one per delivery, per conversion revision; a replay or a resume gets a new one.
 */
export const jobIds = {
  /** A delivery's first run. */
  deliver: (deliveryId: string) => `deliver-${deliveryId}`,
  /** A finished delivery sent again; the time keeps every replay's id new. */
  deliverReplay: (deliveryId: string, at: Date) => `deliver-${deliveryId}-replay-${at.getTime()}`,
  /** A paused delivery sent once its endpoint is enabled again. */
  deliverResume: (deliveryId: string, at: Date) => `deliver-${deliveryId}-resume-${at.getTime()}`,
  /** The rollup of one conversion revision. */
  rollupConversion: (conversionId: string, revision: number) => `rollup-${conversionId}-${revision}`,
} as const;

/** The job that fires one delivery, under the id that says which run it is. */
export function deliverJob(
  workspaceId: string,
  deliveryId: string,
  jobId: string,
  delayMs = 0,
): OutboxJob<"postback.deliver"> {
  return outboxJob("postback.deliver", { workspaceId, deliveryId }, { jobId, delayMs });
}
