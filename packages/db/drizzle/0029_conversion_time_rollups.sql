CREATE TABLE "conversion_time_rollups_hourly" (
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
	"event_key" text NOT NULL,
	"touch_kind" "touch_kind" NOT NULL,
	"conversions" integer DEFAULT 0 NOT NULL,
	"revenue" numeric(30, 6) DEFAULT '0' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "conversion_time_rollups_hourly_key" UNIQUE NULLS NOT DISTINCT("workspace_id","hour","funnel_id","node_id","page_id","traffic_source_id","country","device_type","os","browser","event_key","touch_kind")
);
--> statement-breakpoint
CREATE TABLE "conversion_time_tuple_rollups_daily" (
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
	CONSTRAINT "conversion_time_tuple_rollups_daily_key" UNIQUE NULLS NOT DISTINCT("workspace_id","day","funnel_id","node_id","page_id","traffic_source_id","country","device_type","os","browser","fields_hash","event_key","touch_kind")
);
--> statement-breakpoint
CREATE TABLE "conversion_time_tuple_rollups_hourly" (
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
	CONSTRAINT "conversion_time_tuple_rollups_hourly_key" UNIQUE NULLS NOT DISTINCT("workspace_id","hour","funnel_id","node_id","page_id","traffic_source_id","country","device_type","os","browser","fields_hash","event_key","touch_kind")
);
--> statement-breakpoint
ALTER TABLE "conversion_rollup_state" ADD COLUMN "converted_hour" timestamp with time zone;--> statement-breakpoint
-- Hand-added: a database that already has hits gets the rollups at conversion time of its old hours
-- from the worker's backfill (backfillRollups rebuilds the conversions by field, by tuple and at
-- conversion time of the hours it passes, settling their ledgers' converted_hour), as 0027 did: from
-- the hour after this one down to the oldest hit. Until then a report credited at conversion time
-- shows no conversions for an hour it has not reached.
INSERT INTO "rollup_watermarks" ("stream", "backfill_before")
SELECT 'hits', date_trunc('hour', now()) + interval '1 hour' WHERE EXISTS (SELECT 1 FROM "hits")
ON CONFLICT ("stream") DO UPDATE SET "backfill_before" = excluded."backfill_before", "updated_at" = now();
