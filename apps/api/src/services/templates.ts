import { STATUS_MAP_TEMPLATES } from "@hitrail/core";
import { z } from "zod";
import { OFFER_SOURCE_TEMPLATES, type OfferSourceTemplate } from "../data/offer-source-templates.ts";
import { TRAFFIC_SOURCE_TEMPLATES, type TrafficSourceTemplate } from "../data/traffic-source-templates.ts";

// Templates are the same for everyone: plain data, no workspace, no database.

export const trafficSourceTemplatesOutput = z.array(
  z.object({
    key: z.string(),
    label: z.string(),
    externalParam: z.string(),
    externalMacro: z.string().nullable(),
    campaignParam: z.string(),
    campaignMacro: z.string().nullable(),
    costParam: z.string(),
    costMacro: z.string().nullable(),
    trackingFields: z.array(z.object({ name: z.string(), param: z.string(), macro: z.string() })),
    postbackUrl: z.string().nullable(),
    notes: z.string(),
  }),
);

export function trafficSourceTemplates(): z.input<typeof trafficSourceTemplatesOutput> {
  return Object.entries(TRAFFIC_SOURCE_TEMPLATES as Record<string, TrafficSourceTemplate>).map(
    ([key, t]) => ({
      key,
      ...t,
      trackingFields: [...t.trackingFields],
    }),
  );
}

export const offerSourceTemplatesOutput = z.array(
  z.object({
    key: z.string(),
    label: z.string(),
    clickIdParam: z.string(),
    postbackTemplate: z.string().nullable(),
    statusParam: z.string(),
    statusMapTemplate: z.string().nullable(),
    statusMap: z.record(z.string(), z.enum(["approved", "pending", "rejected"])).nullable(),
    notes: z.string(),
  }),
);

export function offerSourceTemplates(): z.input<typeof offerSourceTemplatesOutput> {
  return Object.entries(OFFER_SOURCE_TEMPLATES as Record<string, OfferSourceTemplate>).map(([key, t]) => ({
    key,
    ...t,
    statusMap: t.statusMapTemplate ? { ...STATUS_MAP_TEMPLATES[t.statusMapTemplate].map.words } : null,
  }));
}
