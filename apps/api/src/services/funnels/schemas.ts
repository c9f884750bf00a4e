import { type ActionTriggers, type NodeConfig, RULE_FIELDS, RULE_OPS } from "@hitrail/core";
import { z } from "zod";
import { conversionMoney, id, isoTime, isoTimeNullable, name, urlTemplate } from "../../schemas/common.ts";

// The funnel graph as the builder sends it. Node ids are the client's keys: an id that is already a
// node of this funnel keeps it (reports and hits refer to node ids); any other key gets a new id on
// save, and the answer maps keys to ids.

export const MAX_NODES = 300;
export const MAX_ACTIONS = 2_000;

const nodeKey = z.string().trim().min(1, { message: "must not be empty" }).max(64);
const weight = z
  .number()
  .finite()
  .min(0, { message: "must not be negative" })
  .max(1_000_000, { message: "must be at most 1000000" });

const route = z.object({ to: nodeKey, weight });
const rule = z.object({
  field: z.enum(RULE_FIELDS),
  op: z.enum(RULE_OPS),
  values: z.array(z.string().trim().max(256)).max(1_000),
  /** The query parameter a "query" rule reads. */
  param: z.string().trim().max(64).optional(),
});
const conditionRoute = z.object({
  match: z.enum(["all", "any"]).default("all"),
  rules: z.array(rule).max(50),
  to: nodeKey,
});
const pages = z.array(z.object({ pageId: id, weight })).max(100);

export const nodeConfig = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("entry"), routes: z.array(route).max(100) }),
  z.object({ kind: z.literal("rotator"), routes: z.array(route).max(100) }),
  z.object({ kind: z.literal("condition"), routes: z.array(conditionRoute).max(100), defaultTo: nodeKey }),
  z.object({ kind: z.literal("lander"), pages }),
  z.object({ kind: z.literal("offer"), pages }),
  z.object({ kind: z.literal("external"), url: urlTemplate }),
]);

// everyTime: each click counts; otherwise once per visitor session and action (core's
// planActionTriggers), a repeat updating the one conversion.
const triggers = z.object({
  conversion: z
    .object({
      revenue: conversionMoney({ allowDelete: true }).nullable().optional(),
      everyTime: z.boolean().optional(),
    })
    .nullable()
    .optional(),
  events: z
    .array(
      z.object({
        eventTypeId: id,
        revenue: conversionMoney({ allowDelete: true }).nullable().optional(),
        everyTime: z.boolean().optional(),
      }),
    )
    .max(20)
    .optional(),
});

export const saveFunnelInput = z.object({
  /** Omitted: a new funnel. */
  funnelId: id.optional(),
  name,
  entryNodeId: nodeKey,
  nodes: z
    .array(
      z.object({
        id: nodeKey,
        name: z.string().trim().max(200).default(""),
        config: nodeConfig,
        position: z.object({ x: z.number().finite(), y: z.number().finite() }).optional(),
      }),
    )
    .min(1, { message: "a funnel needs at least its entry node" })
    .max(MAX_NODES, { message: `must have at most ${MAX_NODES} nodes` }),
  actions: z
    .array(
      z.object({
        from: nodeKey,
        number: z.number().int().min(1, { message: "must be 1 or more" }).max(999),
        to: nodeKey,
        triggers: triggers.default({}),
      }),
    )
    .max(MAX_ACTIONS, { message: `must have at most ${MAX_ACTIONS} actions` })
    .default([]),
});
export type SaveFunnelInput = z.output<typeof saveFunnelInput>;

const nodeConfigOut = z.custom<NodeConfig>(
  (v) => typeof v === "object" && v !== null && typeof (v as { kind?: unknown }).kind === "string",
);
const triggersOut = z.custom<ActionTriggers>((v) => typeof v === "object" && v !== null);

export const funnelSummaryOutput = z.object({
  id: z.string(),
  name: z.string(),
  entryNodeId: z.string().nullable(),
  version: z.number().int(),
  nodeCount: z.number().int(),
  archivedAt: isoTimeNullable,
  createdAt: isoTime,
  updatedAt: isoTime,
});

export const funnelOutput = funnelSummaryOutput.omit({ nodeCount: true }).extend({
  nodes: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      kind: z.string(),
      config: nodeConfigOut,
      position: z.object({ x: z.number(), y: z.number() }),
    }),
  ),
  actions: z.array(
    z.object({ from: z.string(), number: z.number().int(), to: z.string(), triggers: triggersOut }),
  ),
});
