-- New report dimensions (OS, browser; country and device for conversions) and unique visits. Rows
-- rolled up before this migration have them empty: run `hitrail rollups recompute --from <first day>`
-- once after upgrading to fill history (the worker's jobs fill every new hour).
ALTER TABLE "conversion_rollups_hourly" DROP CONSTRAINT "conversion_rollups_hourly_key";--> statement-breakpoint
ALTER TABLE "hit_rollups_hourly" DROP CONSTRAINT "hit_rollups_hourly_key";--> statement-breakpoint
ALTER TABLE "conversion_rollups_hourly" ADD COLUMN "country" text;--> statement-breakpoint
ALTER TABLE "conversion_rollups_hourly" ADD COLUMN "device_type" text;--> statement-breakpoint
ALTER TABLE "conversion_rollups_hourly" ADD COLUMN "os" text;--> statement-breakpoint
ALTER TABLE "conversion_rollups_hourly" ADD COLUMN "browser" text;--> statement-breakpoint
ALTER TABLE "hit_rollups_hourly" ADD COLUMN "os" text;--> statement-breakpoint
ALTER TABLE "hit_rollups_hourly" ADD COLUMN "browser" text;--> statement-breakpoint
ALTER TABLE "hit_rollups_hourly" ADD COLUMN "unique_node_visits" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "hit_rollups_hourly" ADD COLUMN "unique_funnel_visits" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "conversion_rollups_hourly" ADD CONSTRAINT "conversion_rollups_hourly_key" UNIQUE NULLS NOT DISTINCT("workspace_id","hour","funnel_id","node_id","page_id","traffic_source_id","country","device_type","os","browser","event_key","touch_kind");--> statement-breakpoint
ALTER TABLE "hit_rollups_hourly" ADD CONSTRAINT "hit_rollups_hourly_key" UNIQUE NULLS NOT DISTINCT("workspace_id","hour","funnel_id","node_id","page_id","page_kind","traffic_source_id","country","device_type","os","browser");