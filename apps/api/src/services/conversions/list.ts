import { findConversionDetail, listConversionLog } from "@hitrail/db";
import { z } from "zod";
import { notFound } from "../../errors.ts";
import { id, instant, isoTime, isoTimeNullable, nextCursor, page } from "../../schemas/common.ts";
import { inWorkspace, workspaceService } from "../context.ts";

const status = z.enum(["approved", "pending", "rejected"]);

const revisionOutput = z.object({
  id: z.string(),
  revision: z.number().int(),
  action: z.enum(["created", "updated", "deleted", "restored"]),
  previousRevenue: z.string().nullable(),
  revenue: z.string(),
  status,
  statusWord: z.string().nullable(),
  source: z.enum(["postback", "tag", "action", "api", "import"]),
  receivedPostbackId: z.string().nullable(),
  raw: z.record(z.string(), z.unknown()),
  createdAt: isoTime,
});

const conversionOutput = z.object({
  id: z.string(),
  hitId: z.string(),
  eventTypeId: z.string().nullable(),
  eventKey: z.string(),
  tx: z.string(),
  seq: z.number().int(),
  revenue: z.string(),
  status,
  revision: z.number().int(),
  visitorId: z.string(),
  funnelId: z.string(),
  nodeId: z.string(),
  pageId: z.string().nullable(),
  pageKind: z.enum(["lander", "offer", "external", "none"]),
  trafficSourceId: z.string().nullable(),
  hitAt: isoTime,
  convertedAt: isoTime,
  deletedAt: isoTimeNullable,
  createdAt: isoTime,
  updatedAt: isoTime,
  revisions: z.array(revisionOutput),
});

const listedConversion = conversionOutput.extend({
  /** Names and the converting hit's facts, for the conversions screen's columns. */
  hit: z.object({
    funnelName: z.string().nullable(),
    pageName: z.string().nullable(),
    trafficSourceName: z.string().nullable(),
    /** The traffic source's click ID the visit arrived with. */
    externalId: z.string().nullable(),
    country: z.string().nullable(),
  }),
});

/** Conversions newest first, each with its revisions (the audit trail of every change). */
export const listConversions = workspaceService({
  role: "viewer",
  input: z.object({
    hitId: id.optional(),
    tx: z.string().max(255).optional(),
    status: status.optional(),
    /** Rejected conversions are soft-deleted; include them to see what a rejection removed. */
    includeDeleted: z.boolean().default(false),
    /** A hit ID, a transaction ID or the traffic source's click ID. */
    search: z.string().trim().min(1).max(255).optional(),
    /** Local dates of the workspace's time zone, inclusive (the dashboard's date filter). */
    fromDate: z.iso.date({ message: "must be a date such as 2026-05-17" }).optional(),
    toDate: z.iso.date({ message: "must be a date such as 2026-05-17" }).optional(),
    from: instant.optional(),
    to: instant.optional(),
    ...page,
  }),
  output: z.object({ items: z.array(listedConversion), nextCursor: z.string().nullable() }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const { fromDate, toDate, ...rest } = input;
      const dates =
        fromDate || toDate
          ? { from: fromDate ?? "1970-01-01", to: toDate ?? "9999-12-30", timeZone: ctx.workspace.timeZone }
          : undefined;
      const items = await listConversionLog(tx, {
        workspaceId: ctx.workspace.id,
        ...rest,
        ...(dates ? { dates } : {}),
      });
      return { items, nextCursor: nextCursor(items, input.limit) };
    }),
});

export const getConversion = workspaceService({
  role: "viewer",
  input: z.object({ conversionId: id }),
  output: conversionOutput.extend({
    touches: z.array(
      z.object({
        hitId: z.string(),
        funnelId: z.string(),
        nodeId: z.string(),
        pageId: z.string().nullable(),
        kind: z.enum(["direct", "assisted"]),
        position: z.number().int(),
        hitAt: isoTime,
      }),
    ),
  }),
  run: ({ ctx, input }) =>
    inWorkspace(ctx, async (tx) => {
      const detail = await findConversionDetail(tx, {
        workspaceId: ctx.workspace.id,
        conversionId: input.conversionId,
      });
      if (!detail) throw notFound("conversion");
      return detail;
    }),
});
