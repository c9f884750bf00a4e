CREATE TABLE "field_conversion_rollups_daily" (
	"workspace_id" uuid NOT NULL,
	"day" timestamp with time zone NOT NULL,
	"funnel_id" uuid NOT NULL,
	"node_id" uuid NOT NULL,
	"page_id" uuid,
	"traffic_source_id" uuid,
	"field_name" text NOT NULL,
	"field_value" text NOT NULL,
	"field_hash" uuid GENERATED ALWAYS AS (md5(field_value)::uuid) STORED NOT NULL,
	"event_key" text NOT NULL,
	"touch_kind" "touch_kind" NOT NULL,
	"conversions" integer DEFAULT 0 NOT NULL,
	"revenue" numeric(30, 6) DEFAULT '0' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "field_conversion_rollups_daily_key" UNIQUE NULLS NOT DISTINCT("workspace_id","day","field_name","funnel_id","node_id","page_id","traffic_source_id","field_hash","event_key","touch_kind")
);
--> statement-breakpoint
CREATE TABLE "field_conversion_rollups_hourly" (
	"workspace_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"funnel_id" uuid NOT NULL,
	"node_id" uuid NOT NULL,
	"page_id" uuid,
	"traffic_source_id" uuid,
	"field_name" text NOT NULL,
	"field_value" text NOT NULL,
	"field_hash" uuid GENERATED ALWAYS AS (md5(field_value)::uuid) STORED NOT NULL,
	"event_key" text NOT NULL,
	"touch_kind" "touch_kind" NOT NULL,
	"conversions" integer DEFAULT 0 NOT NULL,
	"revenue" numeric(30, 6) DEFAULT '0' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "field_conversion_rollups_hourly_key" UNIQUE NULLS NOT DISTINCT("workspace_id","hour","field_name","funnel_id","node_id","page_id","traffic_source_id","field_hash","event_key","touch_kind")
);
--> statement-breakpoint
ALTER TABLE "conversion_rollup_state" ADD COLUMN "field_contribution" jsonb;--> statement-breakpoint
CREATE TABLE "field_rollups_daily" (
	"workspace_id" uuid NOT NULL,
	"day" timestamp with time zone NOT NULL,
	"funnel_id" uuid NOT NULL,
	"node_id" uuid NOT NULL,
	"page_id" uuid,
	"page_kind" "page_kind" NOT NULL,
	"traffic_source_id" uuid,
	"field_name" text NOT NULL,
	"field_value" text NOT NULL,
	"field_hash" uuid GENERATED ALWAYS AS (md5(field_value)::uuid) STORED NOT NULL,
	"visits" integer DEFAULT 0 NOT NULL,
	"unique_node_visits" integer DEFAULT 0 NOT NULL,
	"unique_funnel_visits" integer DEFAULT 0 NOT NULL,
	"bots" integer DEFAULT 0 NOT NULL,
	"cost" numeric(30, 6) DEFAULT '0' NOT NULL,
	"is_bot" boolean DEFAULT false NOT NULL,
	"entrances" integer DEFAULT 0 NOT NULL,
	"action_clicks" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "field_rollups_daily_key" UNIQUE NULLS NOT DISTINCT("workspace_id","day","field_name","funnel_id","node_id","page_id","page_kind","traffic_source_id","field_hash","is_bot")
);
--> statement-breakpoint
-- Hand-edited. The narrower key merges rows the old one kept apart, so the rows are emptied and
-- rebuilt from raw hits by the worker's backfill (see backfillRollups) rather than re-added here: a
-- migration that summed months of rollup rows would hold the deploy for as long. Until the backfill
-- reaches an hour, a report by field shows nothing for it (the rollups by field carry their own
-- totals now); the backfill also fills the conversions by field (above) of the hours it passes.
TRUNCATE "field_rollups_hourly";--> statement-breakpoint
ALTER TABLE "field_rollups_hourly" DROP CONSTRAINT "field_rollups_hourly_key";--> statement-breakpoint
ALTER TABLE "field_rollups_hourly" DROP COLUMN "country";--> statement-breakpoint
ALTER TABLE "field_rollups_hourly" DROP COLUMN "device_type";--> statement-breakpoint
ALTER TABLE "field_rollups_hourly" DROP COLUMN "os";--> statement-breakpoint
ALTER TABLE "field_rollups_hourly" DROP COLUMN "browser";--> statement-breakpoint
ALTER TABLE "field_rollups_hourly" ADD CONSTRAINT "field_rollups_hourly_key" UNIQUE NULLS NOT DISTINCT("workspace_id","hour","field_name","funnel_id","node_id","page_id","page_kind","traffic_source_id","field_hash","is_bot");--> statement-breakpoint
-- Hand-added: backfill every hour that has hits, down to the oldest (as 0021 did).
INSERT INTO "rollup_watermarks" ("stream", "backfill_before")
SELECT 'hits', date_trunc('hour', now()) + interval '1 hour' WHERE EXISTS (SELECT 1 FROM "hits")
ON CONFLICT ("stream") DO UPDATE SET "backfill_before" = excluded."backfill_before", "updated_at" = now();
