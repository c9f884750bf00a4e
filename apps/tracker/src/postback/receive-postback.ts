import { parsePostback } from "@hitrail/core";
import type { ConversionRecorder } from "../conversions/record-conversion.ts";
import type { ConversionEventRef, RecordResult } from "../conversions/types.ts";
import type { HostWorkspace } from "../workspace-resolver.ts";
import { checkPostbackAccess } from "./access.ts";
import { type PostbackParams, paramsForLog } from "./params.ts";

export interface ReceivedPostback {
  workspace: HostWorkspace;
  method: string;
  ip: string;
  params: PostbackParams;
  /** epoch ms */
  receivedAt: number;
}

/**
 * `/pb/`: the workspace's walls (allow-list, key), core's reading of the parameters, then the one
 * conversion use-case. Refusals are logged like everything else.
 */
export async function receivePostback(
  recorder: ConversionRecorder,
  findEvent: (workspaceId: string, alias: string) => Promise<ConversionEventRef | null>,
  input: ReceivedPostback,
): Promise<RecordResult> {
  const { workspace, params } = input;
  const meta = {
    method: input.method,
    ip: input.ip,
    params: paramsForLog(params.values),
    receivedAt: input.receivedAt,
  };
  const refuse = (httpStatus: number, error: string, notes: string[] = []) =>
    recorder.refuse({
      workspaceId: workspace.workspaceId,
      channel: "postback",
      meta,
      httpStatus,
      error,
      notes,
    });

  const access = checkPostbackAccess(workspace, input.ip, params.values.key);
  if (!access.ok) return refuse(access.httpStatus, access.error);
  if (params.bodyProblem !== null) return refuse(400, params.bodyProblem);

  const parsed = parsePostback(params.values);
  if (!parsed.ok) return refuse(400, parsed.reason);
  const request = parsed.request;
  // e=<alias>: a custom event on the hit (networks reporting leads and sales apart); e=conversion,
  // like flux.track("conversion"), is the conversion itself.
  let event: ConversionEventRef | null = null;
  if (request.eventAlias !== null && request.eventAlias !== "conversion") {
    event = await findEvent(workspace.workspaceId, request.eventAlias);
    if (event === null) {
      return refuse(
        400,
        `e=${request.eventAlias}: no custom event type has this alias in this workspace`,
        request.notes,
      );
    }
  }
  return recorder.record({
    workspace,
    channel: "postback",
    target: request.target,
    tx: request.tx,
    revenue: request.revenue,
    statusWord: request.statusWord,
    rawStatus: request.rawStatus,
    disablePostbacks: request.disablePostbacks,
    conversionTime: request.conversionTime,
    event,
    notes: request.notes,
    meta,
  });
}

/** Failures that count against a source: its fault (4xx), not ours (503) and not the limiter's own 429. */
export function isSourceFailure(result: RecordResult): boolean {
  return !result.ok && result.httpStatus >= 400 && result.httpStatus < 500 && result.httpStatus !== 429;
}

/** The answer a person debugging a postback reads. */
export function postbackAnswer(result: RecordResult): Record<string, unknown> {
  if (result.ok) {
    return {
      outcome: result.outcome,
      ...(result.reason !== null ? { reason: result.reason } : {}),
      conversion: result.conversion,
      notes: result.notes,
      postbackId: result.postbackId,
    };
  }
  return { outcome: "rejected", error: result.error, notes: result.notes, postbackId: result.postbackId };
}
