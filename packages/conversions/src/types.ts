import type {
  ConversionEvent,
  ConversionStatus,
  ConversionTarget,
  DuplicatePolicy,
  Revenue,
} from "@hitrail/core";
import type { HostWorkspace } from "@hitrail/db";

/** How a conversion reached us; stored on every revision and in the postback log. */
export type ConversionChannel = "postback" | "tag" | "action" | "import";

/** What we keep of the request that asked for a conversion: the audit trail shows it verbatim. */
export interface ConversionRequestMeta {
  /** HTTP method, or what the channel calls its trigger. */
  method: string;
  ip: string | null;
  /** Received parameters, secrets already redacted. */
  params: Record<string, unknown>;
  /** epoch ms */
  receivedAt: number;
}

/** A custom event instead of the conversion itself (core's ConversionEvent). */
export type ConversionEventRef = ConversionEvent;

/**
 * One request to record a conversion, already validated (core parsePostback or its tag/action
 * equivalent). The use-case resolves the target; the batch applies it (core applyConversion) and
 * commits.
 */
export interface ConversionCommand {
  workspace: Pick<HostWorkspace, "workspaceId" | "currency" | "sessionTtlSeconds">;
  channel: ConversionChannel;
  target: ConversionTarget;
  tx: string | null;
  revenue: Revenue;
  /** The word as understood (lower-case), for the audit trail. */
  statusWord: string | null;
  /** The word as sent; classified once the hit is known, with its offer source's status map. */
  rawStatus: string | null;
  disablePostbacks: boolean;
  /** When the sender says the conversion happened (epoch ms); absent or null: when it was received. */
  conversionTime?: number | null;
  event?: ConversionEventRef | null;
  /**
   * Overrides the event type's and the offer source's policy for a repeat of this identity: action
   * triggers fire once per hit and action, so their repeats are ignored.
   */
  duplicatePolicy?: DuplicatePolicy;
  /** Things worth showing the user that did not stop the conversion. */
  notes: string[];
  meta: ConversionRequestMeta;
}

export type ConversionOutcome = "created" | "updated" | "deleted" | "restored" | "ignored";

/** The conversion as the answer shows it to a person debugging a postback. */
export interface ConversionView {
  id: string;
  hit: string;
  tx: string | null;
  /** "-1" once deleted by a rejection (seed: "the revenue will be set to -1"). */
  revenue: string;
  status: ConversionStatus;
  revision: number;
  previousRevenue: string | null;
}

export type RecordResult =
  | {
      /** Accepted while the database is down: spooled durably, applied in arrival order on recovery. */
      ok: true;
      httpStatus: 202;
      outcome: "queued";
      conversion: null;
      reason: string;
      notes: string[];
      postbackId: string;
    }
  | {
      ok: true;
      httpStatus: 200;
      outcome: ConversionOutcome;
      /** Null only when a rejection found nothing to delete. */
      conversion: ConversionView | null;
      /** Why it was ignored, when it was. */
      reason: string | null;
      notes: string[];
      postbackId: string;
    }
  | {
      ok: false;
      httpStatus: number;
      outcome: "rejected";
      /** Plain words: "hit not found: …", "unreplaced macro in hit …". */
      error: string;
      notes: string[];
      /** The log entry, or null when nothing could be logged (database unavailable). */
      postbackId: string | null;
      retryAfterSeconds?: number;
    };
