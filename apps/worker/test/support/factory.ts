import { normalizeMoney, substituteTokens } from "@hitrail/core";
import { type Database, type Executor, idTime, newId, newIdAt } from "@hitrail/db";
import { factories } from "@hitrail/db/testing";
import { schema, sql } from "@hitrail/db/testing/sql";

// Rows exactly as the tracker's conversion write path leaves them (the outbox contract): one
// transaction writes the conversion (or its change), its revision, its touches, and the outbound
// delivery when the traffic source should hear about it, which is its own outbox entry (the relay
// hands `deliver-<id>` to the worker). Nothing here enqueues anything: the relay does.

export type Kit = Awaited<ReturnType<typeof factories.campaign>>;
export type NodeName = keyof Kit["nodes"];

export interface Tenant {
  workspaceId: string;
  kit: Kit;
  /** The traffic source's postback template, rendered into each delivery's URL. */
  postbackTemplate: string | null;
}

export async function seedTenant(db: Database, opts: { postbackTemplate?: string } = {}): Promise<Tenant> {
  const { workspace } = await factories.workspace(db);
  const kit = await factories.campaign(db, workspace.id, {
    ...(opts.postbackTemplate ? { postbackUrl: opts.postbackTemplate } : {}),
  });
  return { workspaceId: workspace.id, kit, postbackTemplate: opts.postbackTemplate ?? null };
}

export type HitRow = typeof schema.hits.$inferSelect;

export interface HitInput {
  node: NodeName;
  /** When the visit happened (default now). */
  at?: Date | number;
  prevHitId?: string | null;
  visitorId?: string;
  externalId?: string | null;
  cost?: string | null;
  country?: string | null;
  deviceType?: string | null;
  isBot?: boolean;
  /** The entrance's tracking fields (zone, creative, …) and campaign, carried by every hit of the visit. */
  trackingFields?: Record<string, string>;
  campaign?: string | null;
}

function pageOf(kit: Kit, node: NodeName): { pageId: string | null; pageKind: HitRow["pageKind"] } {
  switch (node) {
    case "lander":
      return { pageId: kit.landerId, pageKind: "lander" };
    case "offerA":
      return { pageId: kit.offerIds[0], pageKind: "offer" };
    case "offerB":
      return { pageId: kit.offerIds[1], pageKind: "offer" };
    default:
      return { pageId: null, pageKind: "none" };
  }
}

export async function insertHit(db: Executor, tenant: Tenant, input: HitInput): Promise<HitRow> {
  const id = input.at === undefined ? newId() : newIdAt(input.at);
  const [row] = await db
    .insert(schema.hits)
    .values({
      id,
      workspaceId: tenant.workspaceId,
      visitorId: input.visitorId ?? newId(),
      funnelId: tenant.kit.funnelId,
      nodeId: tenant.kit.nodes[input.node],
      ...pageOf(tenant.kit, input.node),
      trafficSourceId: tenant.kit.trafficSourceId,
      externalId: input.externalId ?? `ext-${id.slice(-8)}`,
      cost: input.cost ?? null,
      prevHitId: input.prevHitId ?? null,
      country: input.country ?? null,
      deviceType: input.deviceType ?? null,
      isBot: input.isBot ?? false,
      trackingFields: input.trackingFields ?? {},
      campaign: input.campaign ?? null,
      createdAt: new Date(idTime(id)),
    })
    .returning();
  if (!row) throw new Error("hit insert returned nothing");
  return row;
}

/** A visitor's path: entry → lander → offer A, each hit linked to the one before. */
export async function insertPath(
  db: Executor,
  tenant: Tenant,
  opts: { at?: number; stepMs?: number; cost?: string; trackingFields?: Record<string, string> } = {},
): Promise<{ entry: HitRow; lander: HitRow; offer: HitRow }> {
  const at = opts.at ?? Date.now();
  const step = opts.stepMs ?? 60_000;
  const visitorId = newId();
  const fields = opts.trackingFields ? { trackingFields: opts.trackingFields } : {};
  const entry = await insertHit(db, tenant, {
    node: "entry",
    at,
    visitorId,
    cost: opts.cost ?? null,
    ...fields,
  });
  const lander = await insertHit(db, tenant, {
    node: "lander",
    at: at + 1,
    visitorId,
    prevHitId: entry.id,
    ...fields,
  });
  const offer = await insertHit(db, tenant, {
    node: "offerA",
    at: at + step,
    visitorId,
    prevHitId: lander.id,
    externalId: entry.externalId,
    ...fields,
  });
  return { entry, lander, offer };
}

export interface DeliveryInput {
  /** Default: the traffic source's template rendered for this revision. */
  url?: string;
  /** The traffic source's postback delay (traffic_sources.postbackDelaySeconds × 1000). */
  delayMs?: number;
  unknownMacros?: string[];
}

export interface ConversionInput {
  hit: HitRow;
  /** Earlier page hits the conversion credits (assisted touches), nearest first. */
  assisted?: HitRow[];
  revenue: string;
  tx?: string;
  eventKey?: string;
  status?: "approved" | "pending";
  /**
   * false: the tracker decided nothing fires (disable_postbacks, …). Default: one delivery when the
   * traffic source has a postback template.
   */
  delivery?: false | DeliveryInput;
  /** Also write the rollup.conversion outbox row (default true). */
  rollup?: boolean;
  /** The revision's source (default postback). */
  source?: "postback" | "import";
  /** When it converted (epoch ms; default now): the hour a report credited at conversion time files it in. */
  convertedAt?: number;
}

export interface Written {
  conversionId: string;
  revision: number;
  deliveryId: string | null;
}

type Conversion = typeof schema.conversions.$inferSelect;

function render(
  tenant: Tenant,
  conversion: Conversion,
  externalId: string | null,
  status: string,
): DeliveryInput {
  if (!tenant.postbackTemplate) throw new Error("tenant has no postback template; pass delivery.url");
  const { url, unknown } = substituteTokens(tenant.postbackTemplate, {
    external: externalId,
    payout: normalizeMoney(conversion.revenue),
    revenue: normalizeMoney(conversion.revenue),
    tx: conversion.tx,
    hit: conversion.hitId,
    status,
  });
  return { url, unknownMacros: unknown };
}

async function writeDeliveryAndJobs(
  tx: Executor,
  tenant: Tenant,
  conversion: Conversion,
  externalId: string | null,
  event: string,
  delivery: false | DeliveryInput | undefined,
  rollup: boolean,
): Promise<string | null> {
  let deliveryId: string | null = null;
  // Like the tracker: a traffic source without a postback template gets no delivery.
  const wanted = delivery ?? (tenant.postbackTemplate ? {} : false);
  if (wanted !== false) {
    const rendered = wanted.url ? wanted : { ...render(tenant, conversion, externalId, event), ...wanted };
    deliveryId = newId();
    const delayMs = wanted.delayMs ?? 0;
    await tx.insert(schema.outboundDeliveries).values({
      id: deliveryId,
      workspaceId: tenant.workspaceId,
      conversionId: conversion.id,
      revision: conversion.revision,
      trafficSourceId: tenant.kit.trafficSourceId,
      event,
      url: rendered.url ?? "",
      unknownMacros: rendered.unknownMacros ?? [],
      notBefore: new Date(Date.now() + delayMs),
    });
    // No outbox row: the delivery is its own outbox entry (the relay enqueues `deliver-<id>`).
  }
  if (rollup) {
    await tx.insert(schema.outbox).values({
      id: newId(),
      workspaceId: tenant.workspaceId,
      topic: "rollup.conversion",
      jobId: `rollup-${conversion.id}-r${conversion.revision}`,
      payload: {
        workspaceId: tenant.workspaceId,
        conversionId: conversion.id,
        revision: conversion.revision,
      },
      delayMs: 0,
    });
  }
  return deliveryId;
}

/** A new conversion on `hit`, as the tracker writes it. */
export async function createConversion(
  db: Database,
  tenant: Tenant,
  input: ConversionInput,
): Promise<Written> {
  return db.transaction(async (tx) => {
    const status = input.status ?? "approved";
    const [conversion] = await tx
      .insert(schema.conversions)
      .values({
        workspaceId: tenant.workspaceId,
        hitId: input.hit.id,
        eventKey: input.eventKey ?? "",
        tx: input.tx ?? "",
        revenue: input.revenue,
        status,
        revision: 1,
        visitorId: input.hit.visitorId,
        funnelId: input.hit.funnelId,
        nodeId: input.hit.nodeId,
        pageId: input.hit.pageId,
        pageKind: input.hit.pageKind,
        trafficSourceId: input.hit.trafficSourceId,
        hitAt: input.hit.createdAt,
        convertedAt: input.convertedAt === undefined ? new Date() : new Date(input.convertedAt),
      })
      .returning();
    if (!conversion) throw new Error("conversion insert returned nothing");
    await tx.insert(schema.conversionRevisions).values({
      workspaceId: tenant.workspaceId,
      conversionId: conversion.id,
      revision: 1,
      action: "created",
      revenue: input.revenue,
      status,
      source: input.source ?? "postback",
      raw: { rev: input.revenue },
    });
    const path = [input.hit, ...(input.assisted ?? [])];
    await tx.insert(schema.touches).values(
      path.map((h, position) => ({
        workspaceId: tenant.workspaceId,
        conversionId: conversion.id,
        hitId: h.id,
        funnelId: h.funnelId,
        nodeId: h.nodeId,
        pageId: h.pageId,
        kind: position === 0 ? ("direct" as const) : ("assisted" as const),
        position,
        hitAt: h.createdAt,
      })),
    );
    const deliveryId = await writeDeliveryAndJobs(
      tx,
      tenant,
      conversion,
      input.hit.externalId,
      "created",
      input.delivery,
      input.rollup ?? true,
    );
    return { conversionId: conversion.id, revision: 1, deliveryId };
  });
}

export interface ChangeInput {
  conversionId: string;
  /** update: new revenue; reject: delete (status rejected); restore: bring a deleted one back. */
  action: "update" | "reject" | "restore";
  revenue?: string;
  /** Default: one delivery when there is a template (the source takes updates); false: none. */
  delivery?: false | DeliveryInput;
  rollup?: boolean;
  source?: "postback" | "import";
}

/** A later postback for the same conversion (late revenue, a rejection, a restore). */
export async function changeConversion(db: Database, tenant: Tenant, input: ChangeInput): Promise<Written> {
  return db.transaction(async (tx) => {
    const [before] = await tx
      .select()
      .from(schema.conversions)
      .where(
        sql`${schema.conversions.workspaceId} = ${tenant.workspaceId} and ${schema.conversions.id} = ${input.conversionId}`,
      )
      .for("update");
    if (!before) throw new Error(`conversion ${input.conversionId} not found`);
    const revision = before.revision + 1;
    const rejected = input.action === "reject";
    const revenue = rejected ? before.revenue : (input.revenue ?? before.revenue);
    const [conversion] = await tx
      .update(schema.conversions)
      .set({
        revision,
        revenue,
        status: rejected ? "rejected" : "approved",
        deletedAt: rejected ? new Date() : null,
        updatedAt: sql`now()`,
      })
      .where(sql`${schema.conversions.id} = ${input.conversionId}`)
      .returning();
    if (!conversion) throw new Error("conversion update returned nothing");
    await tx.insert(schema.conversionRevisions).values({
      workspaceId: tenant.workspaceId,
      conversionId: conversion.id,
      revision,
      action: rejected ? "deleted" : input.action === "restore" ? "restored" : "updated",
      previousRevenue: before.revenue,
      revenue: rejected ? "-1" : revenue,
      status: conversion.status,
      source: input.source ?? "postback",
      raw: { rev: input.revenue ?? null, action: input.action },
    });
    const [hit] = await tx
      .select({ externalId: schema.hits.externalId })
      .from(schema.hits)
      .where(
        sql`${schema.hits.workspaceId} = ${tenant.workspaceId} and ${schema.hits.id} = ${conversion.hitId}`,
      );
    const event = rejected ? "rejected" : input.action === "restore" ? "restored" : "updated";
    const deliveryId = await writeDeliveryAndJobs(
      tx,
      tenant,
      conversion,
      hit?.externalId ?? null,
      event,
      input.delivery,
      input.rollup ?? true,
    );
    return { conversionId: conversion.id, revision, deliveryId };
  });
}
