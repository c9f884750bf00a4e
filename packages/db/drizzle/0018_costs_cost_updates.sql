CREATE TYPE "public"."cost_mode" AS ENUM('total', 'per_visit');--> statement-breakpoint
CREATE TYPE "public"."cost_origin" AS ENUM('api', 'csv', 'cli');--> statement-breakpoint
CREATE TABLE "cost_allocations" (
	"workspace_id" uuid NOT NULL,
	"update_id" uuid NOT NULL,
	"hit_id" uuid NOT NULL,
	"hit_at" timestamp with time zone NOT NULL,
	"amount" numeric(18, 6) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cost_rollups_hourly" (
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
	"visits" integer NOT NULL,
	"cost_delta" numeric(30, 6) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cost_updates" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "cost_updates_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"traffic_source_id" uuid,
	"funnel_id" uuid,
	"field_name" text,
	"field_value" text,
	"local_start" text NOT NULL,
	"local_end" text NOT NULL,
	"time_zone" text NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"mode" "cost_mode" NOT NULL,
	"amount" numeric(18, 6) NOT NULL,
	"visits" integer NOT NULL,
	"allocated" numeric(30, 6) NOT NULL,
	"replaced_cost" numeric(30, 6) NOT NULL,
	"origin" "cost_origin" NOT NULL,
	"file_name" text,
	"file_line" integer,
	"created_by_user_id" uuid,
	"created_by_api_key_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"undone_at" timestamp with time zone,
	"undone_by_user_id" uuid,
	"undone_by_api_key_id" uuid
);
--> statement-breakpoint
ALTER TABLE "cost_allocations" ADD CONSTRAINT "cost_allocations_update_id_cost_updates_id_fk" FOREIGN KEY ("update_id") REFERENCES "public"."cost_updates"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cost_updates" ADD CONSTRAINT "cost_updates_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "cost_allocations_workspace_hit_at_idx" ON "cost_allocations" USING btree ("workspace_id","hit_at");--> statement-breakpoint
CREATE INDEX "cost_allocations_update_idx" ON "cost_allocations" USING btree ("update_id");--> statement-breakpoint
CREATE INDEX "cost_rollups_hourly_workspace_hour_idx" ON "cost_rollups_hourly" USING btree ("workspace_id","hour");--> statement-breakpoint
CREATE INDEX "cost_updates_workspace_seq_idx" ON "cost_updates" USING btree ("workspace_id","seq");