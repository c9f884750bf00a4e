import type { TrackerDeps } from "../deps.ts";
import { ConversionWriter, type ConversionWriterOptions } from "./conversion-writer.ts";
import { ConversionRecorder } from "./record-conversion.ts";

export { ConversionWriter, type ConversionWriterOptions } from "./conversion-writer.ts";
export { outboundMacros, renderOutboundPostback, trafficSourceNotify } from "./outbound.ts";
export { type BatchPlan, identityKey, type PlanInput, type PlanItem, planBatch } from "./plan.ts";
export { type AdmitHit, ConversionRecorder, type Refusal } from "./record-conversion.ts";
export type * from "./types.ts";

const recorders = new WeakMap<TrackerDeps, ConversionRecorder>();

/**
 * The process's one conversion recorder (and so one group-commit writer) for these deps: the
 * postback route, the tag route and action triggers all record through it, so postbacks of one
 * identity are ordered whichever way they arrive.
 */
export function conversionRecorderFor(
  deps: TrackerDeps,
  opts: Partial<ConversionWriterOptions> = {},
): ConversionRecorder {
  let recorder = recorders.get(deps);
  if (!recorder) {
    const writer = new ConversionWriter(deps.db, deps.logger, deps.now, {
      maxBatch: deps.env.CONVERSION_BATCH_MAX,
      maxInFlight: deps.env.CONVERSION_BATCH_IN_FLIGHT,
      ...opts,
    });
    recorder = new ConversionRecorder({
      writer,
      sessions: deps.sessions,
      logger: deps.logger,
      now: deps.now,
    });
    recorders.set(deps, recorder);
  }
  return recorder;
}
