import { logRow } from "@hitrail/conversions";
import { isSessionLive, pickVisitorHit } from "@hitrail/core";
import { newId } from "@hitrail/db";
import type { Logger } from "@hitrail/observability";
import type { SessionStore } from "../sessions.ts";
import type { ConversionWriter } from "./conversion-writer.ts";
import type { ConversionChannel, ConversionCommand, ConversionRequestMeta, RecordResult } from "./types.ts";

export interface ConversionRecorderDeps {
  writer: ConversionWriter;
  sessions: SessionStore;
  logger: Logger;
  now: () => number;
}

/** A request refused before any conversion was looked at (bad input, bad key, unknown visitor…). */
export interface Refusal {
  workspaceId: string;
  channel: ConversionChannel;
  meta: ConversionRequestMeta;
  httpStatus: number;
  /** Plain words for the log and the answer. */
  error: string;
  notes?: string[];
  /** Whatever was understood before the refusal, for the log's columns. */
  hitId?: string | null;
  visitorId?: string | null;
  tx?: string | null;
  statusWord?: string | null;
}

/** A last check on the converting hit once it is known (the tag's per-hit limit): a refusal, or null. */
export type AdmitHit = (hitId: string) => Promise<{ httpStatus: number; error: string } | null>;

/**
 * The one way a conversion is recorded, whatever brought it: a postback, the JavaScript tag's
 * `flux.track("conversion")`, or a funnel action. It finds the converting hit (given, or the
 * visitor's session picked by core), hands it to the group-commit writer where core decides, and
 * answers once the outcome is committed. Every request, refused or not, lands in the postback log.
 */
export class ConversionRecorder {
  constructor(private readonly deps: ConversionRecorderDeps) {}

  async record(command: ConversionCommand, admit?: AdmitHit): Promise<RecordResult> {
    const { target } = command;
    const refused = async (hitId: string, visitorId: string | null, notes: string[]) => {
      const refusal = admit === undefined ? null : await admit(hitId);
      if (refusal === null) return null;
      return this.refuse({
        workspaceId: command.workspace.workspaceId,
        channel: command.channel,
        meta: command.meta,
        httpStatus: refusal.httpStatus,
        error: refusal.error,
        notes,
        hitId,
        visitorId,
        tx: command.tx,
        statusWord: command.statusWord,
      });
    };
    if (target.by === "hit") {
      const refusal = await refused(target.hitId, null, command.notes);
      if (refusal !== null) return refusal;
      return this.deps.writer.submit({ postbackId: newId(), command, hitId: target.hitId, visitorId: null });
    }
    const { workspace } = command;
    const session = await this.deps.sessions.get(
      workspace.workspaceId,
      target.visitorId,
      workspace.sessionTtlSeconds,
    );
    const refuse = (error: string) =>
      this.refuse({
        workspaceId: workspace.workspaceId,
        channel: command.channel,
        meta: command.meta,
        httpStatus: 404,
        error,
        notes: command.notes,
        visitorId: target.visitorId,
        tx: command.tx,
        statusWord: command.statusWord,
      });
    // Redis forgets a session after its TTL; the clock check also covers a session kept alive only by
    // reads, since only visits count as activity.
    if (session === null || !isSessionLive(session, this.deps.now(), workspace.sessionTtlSeconds * 1000)) {
      const days = Math.round((workspace.sessionTtlSeconds / 86_400) * 10) / 10;
      return refuse(
        `visitor not found: ${target.visitorId} has no live session (sessions end ${days} days after the last visit); ` +
          "convert by hit ID instead",
      );
    }
    const picked = pickVisitorHit(session, target.pageId);
    if (!picked.ok) return refuse(`no hit to convert: ${picked.reason}`);
    const notes = [
      ...command.notes,
      target.pageId === null
        ? `visitor ${target.visitorId}: converting the last visited offer (hit ${picked.hit.hitId})`
        : `visitor ${target.visitorId}: converting the latest hit on page ${target.pageId} (hit ${picked.hit.hitId})`,
    ];
    const refusal = await refused(picked.hit.hitId, target.visitorId, notes);
    if (refusal !== null) return refusal;
    return this.deps.writer.submit({
      postbackId: newId(),
      command: { ...command, notes },
      hitId: picked.hit.hitId,
      visitorId: target.visitorId,
    });
  }

  /** Logs a refused request and builds its answer; a log that cannot be written never changes the answer. */
  async refuse(refusal: Refusal): Promise<RecordResult> {
    const postbackId = newId();
    const notes = refusal.notes ?? [];
    const row = logRow(
      {
        postbackId,
        workspaceId: refusal.workspaceId,
        channel: refusal.channel,
        meta: refusal.meta,
        hitId: refusal.hitId ?? null,
        visitorId: refusal.visitorId ?? null,
        tx: refusal.tx ?? null,
        statusWord: refusal.statusWord ?? null,
      },
      { outcome: "rejected", reason: refusal.error, httpStatus: refusal.httpStatus, conversionId: null },
    );
    let logged = true;
    try {
      await this.deps.writer.log(row);
    } catch (error) {
      logged = false;
      this.deps.logger.warn({ err: (error as Error).message }, "postback log entry lost");
    }
    return {
      ok: false,
      httpStatus: refusal.httpStatus,
      outcome: "rejected",
      error: refusal.error,
      notes,
      postbackId: logged ? postbackId : null,
    };
  }

  /** Group-commit counters (batches, items, isolations), for metrics and benchmarks. */
  get writerStats(): ConversionWriter["stats"] {
    return this.deps.writer.stats;
  }

  drain(): Promise<void> {
    return this.deps.writer.drain();
  }
}
