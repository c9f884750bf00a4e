ALTER TABLE "conversion_rollups_hourly" ALTER COLUMN "revenue" SET DATA TYPE numeric(30, 6);--> statement-breakpoint
ALTER TABLE "conversion_rollups_hourly" ALTER COLUMN "revenue" SET DEFAULT '0';--> statement-breakpoint
ALTER TABLE "hit_rollups_hourly" ALTER COLUMN "cost" SET DATA TYPE numeric(30, 6);--> statement-breakpoint
ALTER TABLE "hit_rollups_hourly" ALTER COLUMN "cost" SET DEFAULT '0';--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "tag_conversions" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "tag_allowed_origins" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "tag_revenue" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "tag_conversions_per_hit" integer DEFAULT 10 NOT NULL;