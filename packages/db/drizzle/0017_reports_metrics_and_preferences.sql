CREATE TABLE "report_preferences" (
	"workspace_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"settings" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "report_preferences_workspace_id_user_id_pk" PRIMARY KEY("workspace_id","user_id")
);
--> statement-breakpoint
ALTER TABLE "hit_rollups_hourly" DROP CONSTRAINT "hit_rollups_hourly_key";--> statement-breakpoint
ALTER TABLE "hit_rollups_hourly" ADD COLUMN "is_bot" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "hit_rollups_hourly" ADD COLUMN "entrances" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "hit_rollups_hourly" ADD COLUMN "action_clicks" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "report_preferences" ADD CONSTRAINT "report_preferences_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "report_preferences" ADD CONSTRAINT "report_preferences_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hit_rollups_hourly" ADD CONSTRAINT "hit_rollups_hourly_key" UNIQUE NULLS NOT DISTINCT("workspace_id","hour","funnel_id","node_id","page_id","page_kind","traffic_source_id","country","device_type","os","browser","is_bot");