ALTER TYPE "public"."delivery_status" ADD VALUE 'paused';--> statement-breakpoint
ALTER TABLE "traffic_sources" ADD COLUMN "postback_failing_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "traffic_sources" ADD COLUMN "postback_disabled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "traffic_sources" ADD COLUMN "postback_disabled_reason" text;--> statement-breakpoint
ALTER TABLE "traffic_sources" ADD COLUMN "postback_flag" text;