import {
  decideTagOrigin,
  MAX_EVENT_ALIAS_LENGTH,
  parsePostback,
  pickTagTarget,
  tagLimitProblem,
} from "@hitrail/core";
import { countHitConversions } from "@hitrail/db";
import { findEventType } from "../conversions/event-types.ts";
import type { AdmitHit, ConversionRecorder } from "../conversions/record-conversion.ts";
import type { ConversionEventRef, RecordResult } from "../conversions/types.ts";
import type { TrackerDeps } from "../deps.ts";
import { paramsForLog } from "../postback/params.ts";
import type { HostWorkspace } from "../workspace-resolver.ts";
import { object, type TagBody, text } from "./body.ts";

export interface TrackRequest {
  workspace: HostWorkspace;
  ip: string;
  body: TagBody;
  /** The visitor ID in the tracker's cookie, if the browser sent it. */
  cookieVisitorId: string | null;
  /** The Origin header, or null when none was sent. */
  origin: string | null;
  /** Hosts whose pages may send this workspace's tag conversions (TagOrigins). */
  allowedHosts: ReadonlySet<string>;
  /** epoch ms */
  receivedAt: number;
}

const PLAIN = new Set(["vid", "hit", "p", "rev", "tx"]);

/**
 * `POST /js/track`: `flux.track(event, {rev, p, vid | hit, tx})`. Seed: without p, vid or hit it
 * converts the visitor's most recently visited offer view; p forces a page, vid or hit force a
 * visitor or a hit. "conversion" is the conversion itself, any other name a custom event alias.
 * core picks the target and reads rev and tx as for a postback; the one recorder decides.
 * The workspace's tag settings come first (core's decideTagOrigin): whether browsers may convert,
 * from which origins, with their own revenue or the default one, and how many times per hit.
 */
export async function track(
  deps: Pick<TrackerDeps, "db">,
  recorder: ConversionRecorder,
  input: TrackRequest,
): Promise<RecordResult> {
  const { workspace, body } = input;
  const values: Record<string, string> = Object.create(null);
  const refuse = (httpStatus: number, error: string, notes: string[] = []) =>
    recorder.refuse({
      workspaceId: workspace.workspaceId,
      channel: "tag",
      meta: { method: "track", ip: input.ip, params: paramsForLog(values), receivedAt: input.receivedAt },
      httpStatus,
      error,
      notes,
    });

  let event: string | null;
  let current: string | null;
  try {
    event = text(body, "event", MAX_EVENT_ALIAS_LENGTH);
    for (const name of PLAIN) {
      const value = text(body, name, 1024);
      if (value !== null) values[name] = value;
    }
    current = text(object(body, "current"), "vid", 200);
  } catch (error) {
    return refuse(400, (error as Error).message);
  }
  if (event === null || event.trim() === "")
    return refuse(400, 'event is required: "conversion" or a custom event alias');
  values.e = event;

  const allowed = decideTagOrigin({
    settings: workspace.tag,
    hasPostbackSecret: workspace.postbackSecret !== null && workspace.postbackSecret !== "",
    origin: input.origin,
    allowedHosts: input.allowedHosts,
    revenueSent: values.rev !== undefined,
  });
  if (!allowed.ok) return refuse(allowed.httpStatus, allowed.reason);
  const rev = allowed.useBrowserRevenue ? values.rev : undefined;

  let eventRef: ConversionEventRef | null = null;
  if (event !== "conversion") {
    eventRef = await findEventType(deps, workspace.workspaceId, event);
    if (eventRef === null) return refuse(404, `unknown event '${event}'`);
  }

  // The page's visitor (the tag's, else the cookie's) is who "the current visitor" is.
  const picked = pickTagTarget(
    { hit: values.hit ?? null, vid: values.vid ?? null, p: values.p ?? null },
    current ?? input.cookieVisitorId,
  );
  if (!picked.ok) return refuse(400, picked.reason, allowed.notes);

  // rev and tx follow the postback rules exactly; the target is the one core just picked.
  const target = picked.target;
  const parsed = parsePostback({
    ...(target.by === "hit"
      ? { hit: target.hitId }
      : { vid: target.visitorId, ...(target.pageId !== null ? { p: target.pageId } : {}) }),
    ...(rev !== undefined ? { rev } : {}),
    ...(values.tx !== undefined ? { tx: values.tx } : {}),
  });
  if (!parsed.ok) return refuse(400, parsed.reason, [...allowed.notes, ...picked.notes]);
  const request = parsed.request;
  // The per-hit limit, once the recorder knows the hit: a repeat of one (event, tx) updates it and
  // adds nothing, so only new conversions count.
  const admit: AdmitHit = async (hitId) => {
    const onHit = await countHitConversions(deps.db.db, {
      workspaceId: workspace.workspaceId,
      hitId,
      eventKey: eventRef?.typeId ?? "",
      tx: request.tx,
    });
    const problem = tagLimitProblem({
      conversionsOnHit: onHit.onHit,
      identityExists: onHit.identityExists,
      limit: workspace.tag.perHitLimit,
    });
    return problem === null ? null : { httpStatus: 409, error: problem };
  };
  return recorder.record(
    {
      workspace,
      channel: "tag",
      target,
      tx: request.tx,
      revenue: request.revenue,
      statusWord: request.statusWord,
      rawStatus: request.rawStatus,
      disablePostbacks: false,
      event: eventRef,
      notes: [...allowed.notes, ...picked.notes, ...request.notes],
      meta: { method: "track", ip: input.ip, params: paramsForLog(values), receivedAt: input.receivedAt },
    },
    admit,
  );
}
