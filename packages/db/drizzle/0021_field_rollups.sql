CREATE TABLE "field_rollups_hourly" (
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
	CONSTRAINT "field_rollups_hourly_key" UNIQUE NULLS NOT DISTINCT("workspace_id","hour","field_name","funnel_id","node_id","page_id","page_kind","traffic_source_id","country","device_type","os","browser","field_hash","is_bot")
);
--> statement-breakpoint
ALTER TABLE "rollup_watermarks" ADD COLUMN "backfill_before" timestamp with time zone;--> statement-breakpoint
-- Hand-added: a database that already has hits gets the new rollup for its old hours from the
-- worker, in the background (see backfillRollups), not here: a migration that rolled up months of
-- hits would hold the deploy for as long. From the hour after this one down to the oldest hit.
INSERT INTO "rollup_watermarks" ("stream", "backfill_before")
SELECT 'hits', date_trunc('hour', now()) + interval '1 hour' WHERE EXISTS (SELECT 1 FROM "hits")
ON CONFLICT ("stream") DO UPDATE SET "backfill_before" = excluded."backfill_before", "updated_at" = now();
