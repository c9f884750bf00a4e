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
ALTER TABLE "conversion_rollup_state" ADD COLUMN "field_contribution" jsonb;