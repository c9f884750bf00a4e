CREATE TABLE "conversion_tuple_rollups_daily" (
	"workspace_id" uuid NOT NULL,
	"day" timestamp with time zone NOT NULL,
	"funnel_id" uuid NOT NULL,
	"node_id" uuid NOT NULL,
	"page_id" uuid,
	"traffic_source_id" uuid,
	"country" text,
	"device_type" text,
	"os" text,
	"browser" text,
	"fields" jsonb NOT NULL,
	"fields_hash" uuid GENERATED ALWAYS AS (md5(fields::text)::uuid) STORED NOT NULL,
	"event_key" text NOT NULL,
	"touch_kind" "touch_kind" NOT NULL,
	"conversions" integer DEFAULT 0 NOT NULL,
	"revenue" numeric(30, 6) DEFAULT '0' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "conversion_tuple_rollups_daily_key" UNIQUE NULLS NOT DISTINCT("workspace_id","day","funnel_id","node_id","page_id","traffic_source_id","country","device_type","os","browser","fields_hash","event_key","touch_kind")
);
--> statement-breakpoint
CREATE TABLE "conversion_tuple_rollups_hourly" (
	"workspace_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"funnel_id" uuid NOT NULL,
	"node_id" uuid NOT NULL,
	"page_id" uuid,
	"traffic_source_id" uuid,
	"country" text,
	"device_type" text,
	"os" text,
	"browser" text,
	"fields" jsonb NOT NULL,
	"fields_hash" uuid GENERATED ALWAYS AS (md5(fields::text)::uuid) STORED NOT NULL,
	"event_key" text NOT NULL,
	"touch_kind" "touch_kind" NOT NULL,
	"conversions" integer DEFAULT 0 NOT NULL,
	"revenue" numeric(30, 6) DEFAULT '0' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "conversion_tuple_rollups_hourly_key" UNIQUE NULLS NOT DISTINCT("workspace_id","hour","funnel_id","node_id","page_id","traffic_source_id","country","device_type","os","browser","fields_hash","event_key","touch_kind")
);
--> statement-breakpoint
CREATE TABLE "visit_tuple_rollups_daily" (
	"workspace_id" uuid NOT NULL,
	"day" timestamp with time zone NOT NULL,
	"funnel_id" uuid NOT NULL,
	"node_id" uuid NOT NULL,
	"page_id" uuid,
	"page_kind" "page_kind" NOT NULL,
	"traffic_source_id" uuid,
	"country" text,
	"device_type" text,
	"os" text,
	"browser" text,
	"fields" jsonb NOT NULL,
	"fields_hash" uuid GENERATED ALWAYS AS (md5(fields::text)::uuid) STORED NOT NULL,
	"visits" integer DEFAULT 0 NOT NULL,
	"unique_node_visits" integer DEFAULT 0 NOT NULL,
	"unique_funnel_visits" integer DEFAULT 0 NOT NULL,
	"bots" integer DEFAULT 0 NOT NULL,
	"cost" numeric(30, 6) DEFAULT '0' NOT NULL,
	"is_bot" boolean DEFAULT false NOT NULL,
	"entrances" integer DEFAULT 0 NOT NULL,
	"action_clicks" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "visit_tuple_rollups_daily_key" UNIQUE NULLS NOT DISTINCT("workspace_id","day","funnel_id","node_id","page_id","page_kind","traffic_source_id","country","device_type","os","browser","fields_hash","is_bot")
);
--> statement-breakpoint
CREATE TABLE "visit_tuple_rollups_hourly" (
	"workspace_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"funnel_id" uuid NOT NULL,
	"node_id" uuid NOT NULL,
	"page_id" uuid,
	"page_kind" "page_kind" NOT NULL,
	"traffic_source_id" uuid,
	"country" text,
	"device_type" text,
	"os" text,
	"browser" text,
	"fields" jsonb NOT NULL,
	"fields_hash" uuid GENERATED ALWAYS AS (md5(fields::text)::uuid) STORED NOT NULL,
	"visits" integer DEFAULT 0 NOT NULL,
	"unique_node_visits" integer DEFAULT 0 NOT NULL,
	"unique_funnel_visits" integer DEFAULT 0 NOT NULL,
	"bots" integer DEFAULT 0 NOT NULL,
	"cost" numeric(30, 6) DEFAULT '0' NOT NULL,
	"is_bot" boolean DEFAULT false NOT NULL,
	"entrances" integer DEFAULT 0 NOT NULL,
	"action_clicks" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "visit_tuple_rollups_hourly_key" UNIQUE NULLS NOT DISTINCT("workspace_id","hour","funnel_id","node_id","page_id","page_kind","traffic_source_id","country","device_type","os","browser","fields_hash","is_bot")
);
--> statement-breakpoint
ALTER TABLE "conversion_rollup_state" ADD COLUMN "tuple_contribution" jsonb;--> statement-breakpoint
-- Hand-added: a database that already has hits gets the rollups by tuple for its old hours from the
-- worker's backfill (backfillRollups, which rebuilds every visit rollup and the conversions by field
-- and by tuple of the hours it passes), as 0021 and 0024 did: from the hour after this one down to
-- the oldest hit. Until it reaches an hour, a report by two fields or by a field and country shows
-- nothing for it.
INSERT INTO "rollup_watermarks" ("stream", "backfill_before")
SELECT 'hits', date_trunc('hour', now()) + interval '1 hour' WHERE EXISTS (SELECT 1 FROM "hits")
ON CONFLICT ("stream") DO UPDATE SET "backfill_before" = excluded."backfill_before", "updated_at" = now();
