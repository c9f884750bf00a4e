import type { TrackerDeps } from "../deps.ts";
import { ConversionWriter, type ConversionWriterOptions } from "./conversion-writer.ts";
import { ConversionRecorder } from "./record-conversion.ts";
import { ConversionSpool } from "./spool.ts";

export { ConversionWriter, type ConversionWriterOptions } from "./conversion-writer.ts";
export { type AdmitHit, ConversionRecorder, type Refusal } from "./record-conversion.ts";
export { ConversionSpool } from "./spool.ts";
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
    // Postbacks received while PostgreSQL is down are spooled and applied after recovery, once the
    // hits spooled meanwhile are in (a postback may convert one of them).
    const spool = new ConversionSpool(deps.redis, deps.prefix, deps.logger, {
      waitFor: async () => (await deps.hits.spoolLength()) > 0,
    });
    const writer = new ConversionWriter(
      deps.db,
      deps.logger,
      deps.now,
      {
        maxBatch: deps.env.CONVERSION_BATCH_MAX,
        maxInFlight: deps.env.CONVERSION_BATCH_IN_FLIGHT,
        ...opts,
      },
      undefined,
      { spool, breaker: deps.breaker },
    );
    // A tracker restarted after an outage finds what the previous process spooled.
    void spool.refresh().catch(() => undefined);
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
