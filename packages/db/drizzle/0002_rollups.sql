CREATE TABLE "conversion_rollup_state" (
	"conversion_id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"applied_revision" integer NOT NULL,
	"contribution" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "conversion_rollups_hourly" (
	"workspace_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"funnel_id" uuid NOT NULL,
	"node_id" uuid NOT NULL,
	"page_id" uuid,
	"traffic_source_id" uuid,
	"event_key" text NOT NULL,
	"touch_kind" "touch_kind" NOT NULL,
	"conversions" integer DEFAULT 0 NOT NULL,
	"revenue" numeric(18, 6) DEFAULT '0' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "conversion_rollups_hourly_key" UNIQUE NULLS NOT DISTINCT("workspace_id","hour","funnel_id","node_id","page_id","traffic_source_id","event_key","touch_kind")
);
--> statement-breakpoint
CREATE TABLE "hit_rollups_hourly" (
	"workspace_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"funnel_id" uuid NOT NULL,
	"node_id" uuid NOT NULL,
	"page_id" uuid,
	"page_kind" "page_kind" NOT NULL,
	"traffic_source_id" uuid,
	"country" text,
	"device_type" text,
	"visits" integer DEFAULT 0 NOT NULL,
	"bots" integer DEFAULT 0 NOT NULL,
	"cost" numeric(18, 6) DEFAULT '0' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "hit_rollups_hourly_key" UNIQUE NULLS NOT DISTINCT("workspace_id","hour","funnel_id","node_id","page_id","page_kind","traffic_source_id","country","device_type")
);
--> statement-breakpoint
ALTER TABLE "conversion_rollup_state" ADD CONSTRAINT "conversion_rollup_state_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversion_rollups_hourly" ADD CONSTRAINT "conversion_rollups_hourly_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "hit_rollups_hourly" ADD CONSTRAINT "hit_rollups_hourly_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "conversion_rollup_state_workspace_idx" ON "conversion_rollup_state" USING btree ("workspace_id");--> statement-breakpoint
-- The new tables carry workspace_id: give them the same row-level security as every other table.
SELECT hitrail_apply_tenant_policies();
