import type { ActionTriggers, NodeConfig } from "@hitrail/core";
import { sql } from "drizzle-orm";
import {
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { workspaceRef } from "./accounts.ts";
import { id, timestamps } from "./columns.ts";

export const nodeKind = pgEnum("node_kind", ["entry", "rotator", "condition", "lander", "offer", "external"]);

export const funnels = pgTable(
  "funnels",
  {
    id: id(),
    workspaceId: workspaceRef(),
    name: text("name").notNull(),
    /** Set once the graph has nodes; the tracker starts every entrance link here. */
    entryNodeId: uuid("entry_node_id"),
    /** Bumped on every graph change so trackers refresh their cache without a restart. */
    version: integer("version").notNull().default(1),
    archivedAt: timestamp("archived_at", { withTimezone: true }),
    ...timestamps,
  },
  (t) => [index("funnels_workspace_idx").on(t.workspaceId)],
);

export const funnelNodes = pgTable(
  "funnel_nodes",
  {
    id: id(),
    workspaceId: workspaceRef(),
    funnelId: uuid("funnel_id")
      .notNull()
      .references(() => funnels.id, { onDelete: "cascade" }),
    kind: nodeKind("kind").notNull(),
    name: text("name").notNull(),
    config: jsonb("config").$type<NodeConfig>().notNull(),
    /** Where the builder draws it; the tracker ignores it. */
    position: jsonb("position")
      .$type<{ x: number; y: number }>()
      .notNull()
      .default(sql`'{"x":0,"y":0}'::jsonb`),
    ...timestamps,
  },
  (t) => [index("funnel_nodes_funnel_idx").on(t.funnelId)],
);

export const funnelActions = pgTable(
  "funnel_actions",
  {
    id: id(),
    workspaceId: workspaceRef(),
    funnelId: uuid("funnel_id")
      .notNull()
      .references(() => funnels.id, { onDelete: "cascade" }),
    fromNodeId: uuid("from_node_id")
      .notNull()
      .references(() => funnelNodes.id, { onDelete: "cascade" }),
    /** `/action/{number}` from a page of the node. */
    number: integer("number").notNull(),
    toNodeId: uuid("to_node_id")
      .notNull()
      .references(() => funnelNodes.id, { onDelete: "cascade" }),
    /** On-action triggers: a conversion and/or custom events fired on the originating hit. */
    triggers: jsonb("triggers").$type<ActionTriggers>().notNull().default(sql`'{}'::jsonb`),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("funnel_actions_from_number_key").on(t.fromNodeId, t.number),
    index("funnel_actions_funnel_idx").on(t.funnelId),
  ],
);
