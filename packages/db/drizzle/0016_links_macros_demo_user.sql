ALTER TABLE "users" ADD COLUMN "demo" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "traffic_sources" ADD COLUMN "external_macro" text;--> statement-breakpoint
ALTER TABLE "traffic_sources" ADD COLUMN "campaign_macro" text;--> statement-breakpoint
ALTER TABLE "traffic_sources" ADD COLUMN "cost_macro" text;