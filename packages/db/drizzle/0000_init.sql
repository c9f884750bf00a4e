CREATE TYPE "public"."workspace_role" AS ENUM('owner', 'admin', 'member', 'viewer');--> statement-breakpoint
CREATE TYPE "public"."duplicate_policy" AS ENUM('update', 'ignore', 'add', 'new');--> statement-breakpoint
CREATE TYPE "public"."conversion_source" AS ENUM('postback', 'tag', 'action', 'api');--> statement-breakpoint
CREATE TYPE "public"."conversion_status" AS ENUM('approved', 'pending', 'rejected');--> statement-breakpoint
CREATE TYPE "public"."revision_action" AS ENUM('created', 'updated', 'deleted', 'restored');--> statement-breakpoint
CREATE TYPE "public"."touch_kind" AS ENUM('direct', 'assisted');--> statement-breakpoint
CREATE TYPE "public"."domain_kind" AS ENUM('default', 'custom');--> statement-breakpoint
CREATE TYPE "public"."node_kind" AS ENUM('entry', 'rotator', 'condition', 'lander', 'offer', 'external');--> statement-breakpoint
CREATE TYPE "public"."page_kind" AS ENUM('lander', 'offer', 'external', 'none');--> statement-breakpoint
CREATE TYPE "public"."delivery_status" AS ENUM('pending', 'delivered', 'failed', 'dead', 'cancelled');--> statement-breakpoint
CREATE TYPE "public"."postback_outcome" AS ENUM('created', 'updated', 'deleted', 'restored', 'ignored', 'rejected');--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"prefix" text NOT NULL,
	"key_hash" text NOT NULL,
	"role" "workspace_role" DEFAULT 'admin' NOT NULL,
	"created_by_user_id" uuid,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"actor_user_id" uuid,
	"actor_api_key_id" uuid,
	"action" text NOT NULL,
	"entity" text NOT NULL,
	"entity_id" uuid,
	"detail" text,
	"is_system" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "auth_sessions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"token_hash" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "memberships" (
	"workspace_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"role" "workspace_role" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "memberships_workspace_id_user_id_pk" PRIMARY KEY("workspace_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY NOT NULL,
	"email" text NOT NULL,
	"name" text,
	"password_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "workspaces" (
	"id" uuid PRIMARY KEY NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"time_zone" text DEFAULT 'UTC' NOT NULL,
	"currency" text DEFAULT 'USD' NOT NULL,
	"session_ttl_seconds" integer DEFAULT 345600 NOT NULL,
	"postback_secret" text,
	"postback_ip_allowlist" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "custom_event_types" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"alias" text NOT NULL,
	"has_revenue" boolean DEFAULT false NOT NULL,
	"default_revenue" numeric(18, 6) DEFAULT '0' NOT NULL,
	"counts_as_conversion" boolean DEFAULT false NOT NULL,
	"fires_postback" boolean DEFAULT false NOT NULL,
	"duplicate_policy" "duplicate_policy" DEFAULT 'update' NOT NULL,
	"archived_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "landers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"url" text NOT NULL,
	"default_payout" numeric(18, 6) DEFAULT '0' NOT NULL,
	"archived_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "offer_sources" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"click_id_param" text DEFAULT 'clickid' NOT NULL,
	"postback_template" text,
	"status_param" text DEFAULT 'status' NOT NULL,
	"status_map" jsonb,
	"duplicate_policy" "duplicate_policy" DEFAULT 'update' NOT NULL,
	"archived_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "offers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"offer_source_id" uuid,
	"name" text NOT NULL,
	"url" text NOT NULL,
	"default_payout" numeric(18, 6) DEFAULT '0' NOT NULL,
	"currency" text,
	"archived_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "traffic_sources" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"postback_url" text,
	"postback_on_update" boolean DEFAULT false NOT NULL,
	"postback_on_reject" boolean DEFAULT false NOT NULL,
	"postback_delay_seconds" integer DEFAULT 0 NOT NULL,
	"external_param" text DEFAULT 'external' NOT NULL,
	"campaign_param" text DEFAULT 'campaign' NOT NULL,
	"cost_param" text DEFAULT 'cost' NOT NULL,
	"tracking_fields" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"archived_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "conversion_revisions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"conversion_id" uuid NOT NULL,
	"revision" integer NOT NULL,
	"action" "revision_action" NOT NULL,
	"previous_revenue" numeric(18, 6),
	"revenue" numeric(18, 6) NOT NULL,
	"status" "conversion_status" NOT NULL,
	"status_word" text,
	"source" "conversion_source" NOT NULL,
	"received_postback_id" uuid,
	"raw" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "conversions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"hit_id" uuid NOT NULL,
	"event_type_id" uuid,
	"event_key" text DEFAULT '' NOT NULL,
	"tx" text DEFAULT '' NOT NULL,
	"seq" integer DEFAULT 0 NOT NULL,
	"revenue" numeric(18, 6) NOT NULL,
	"status" "conversion_status" NOT NULL,
	"revision" integer DEFAULT 1 NOT NULL,
	"visitor_id" uuid NOT NULL,
	"funnel_id" uuid NOT NULL,
	"node_id" uuid NOT NULL,
	"page_id" uuid,
	"page_kind" "page_kind" NOT NULL,
	"traffic_source_id" uuid,
	"hit_at" timestamp with time zone NOT NULL,
	"converted_at" timestamp with time zone NOT NULL,
	"deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "touches" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"conversion_id" uuid NOT NULL,
	"hit_id" uuid NOT NULL,
	"funnel_id" uuid NOT NULL,
	"node_id" uuid NOT NULL,
	"page_id" uuid,
	"kind" "touch_kind" NOT NULL,
	"position" integer NOT NULL,
	"hit_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tracking_domains" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"host" text NOT NULL,
	"kind" "domain_kind" NOT NULL,
	"verification_token" text NOT NULL,
	"verified_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "funnel_actions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"funnel_id" uuid NOT NULL,
	"from_node_id" uuid NOT NULL,
	"number" integer NOT NULL,
	"to_node_id" uuid NOT NULL,
	"triggers" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "funnel_nodes" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"funnel_id" uuid NOT NULL,
	"kind" "node_kind" NOT NULL,
	"name" text NOT NULL,
	"config" jsonb NOT NULL,
	"position" jsonb DEFAULT '{"x":0,"y":0}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "funnels" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"entry_node_id" uuid,
	"version" integer DEFAULT 1 NOT NULL,
	"archived_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hits" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"visitor_id" uuid NOT NULL,
	"funnel_id" uuid NOT NULL,
	"node_id" uuid NOT NULL,
	"page_id" uuid,
	"page_kind" "page_kind" NOT NULL,
	"traffic_source_id" uuid,
	"external_id" text,
	"campaign" text,
	"cost" numeric(18, 6),
	"tracking_fields" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"prev_hit_id" uuid,
	"ip" text,
	"user_agent" text,
	"device_type" text,
	"os" text,
	"browser" text,
	"country" text,
	"language" text,
	"referrer" text,
	"is_bot" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone NOT NULL
) PARTITION BY RANGE ("id");
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"topic" text NOT NULL,
	"job_id" text NOT NULL,
	"payload" jsonb NOT NULL,
	"delay_ms" integer DEFAULT 0 NOT NULL,
	"relayed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "delivery_attempts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"delivery_id" uuid NOT NULL,
	"attempt" integer NOT NULL,
	"url" text NOT NULL,
	"status_code" integer,
	"latency_ms" integer,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbound_deliveries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"conversion_id" uuid NOT NULL,
	"revision" integer NOT NULL,
	"traffic_source_id" uuid NOT NULL,
	"event" text NOT NULL,
	"url" text NOT NULL,
	"status" "delivery_status" DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_status_code" integer,
	"last_error" text,
	"unknown_macros" text[] DEFAULT '{}'::text[] NOT NULL,
	"not_before" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "received_postbacks" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"method" text NOT NULL,
	"channel" text DEFAULT 'postback' NOT NULL,
	"ip" text,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"hit_id" uuid,
	"visitor_id" uuid,
	"tx" text,
	"status_word" text,
	"outcome" "postback_outcome" NOT NULL,
	"reason" text,
	"http_status" integer NOT NULL,
	"conversion_id" uuid
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_created_by_user_id_users_id_fk" FOREIGN KEY ("created_by_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "auth_sessions" ADD CONSTRAINT "auth_sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "custom_event_types" ADD CONSTRAINT "custom_event_types_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "landers" ADD CONSTRAINT "landers_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offer_sources" ADD CONSTRAINT "offer_sources_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offers" ADD CONSTRAINT "offers_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offers" ADD CONSTRAINT "offers_offer_source_id_offer_sources_id_fk" FOREIGN KEY ("offer_source_id") REFERENCES "public"."offer_sources"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "traffic_sources" ADD CONSTRAINT "traffic_sources_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversion_revisions" ADD CONSTRAINT "conversion_revisions_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversion_revisions" ADD CONSTRAINT "conversion_revisions_conversion_id_conversions_id_fk" FOREIGN KEY ("conversion_id") REFERENCES "public"."conversions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversions" ADD CONSTRAINT "conversions_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "touches" ADD CONSTRAINT "touches_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "touches" ADD CONSTRAINT "touches_conversion_id_conversions_id_fk" FOREIGN KEY ("conversion_id") REFERENCES "public"."conversions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tracking_domains" ADD CONSTRAINT "tracking_domains_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "funnel_actions" ADD CONSTRAINT "funnel_actions_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "funnel_actions" ADD CONSTRAINT "funnel_actions_funnel_id_funnels_id_fk" FOREIGN KEY ("funnel_id") REFERENCES "public"."funnels"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "funnel_actions" ADD CONSTRAINT "funnel_actions_from_node_id_funnel_nodes_id_fk" FOREIGN KEY ("from_node_id") REFERENCES "public"."funnel_nodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "funnel_actions" ADD CONSTRAINT "funnel_actions_to_node_id_funnel_nodes_id_fk" FOREIGN KEY ("to_node_id") REFERENCES "public"."funnel_nodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "funnel_nodes" ADD CONSTRAINT "funnel_nodes_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "funnel_nodes" ADD CONSTRAINT "funnel_nodes_funnel_id_funnels_id_fk" FOREIGN KEY ("funnel_id") REFERENCES "public"."funnels"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "funnels" ADD CONSTRAINT "funnels_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD CONSTRAINT "delivery_attempts_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD CONSTRAINT "delivery_attempts_delivery_id_outbound_deliveries_id_fk" FOREIGN KEY ("delivery_id") REFERENCES "public"."outbound_deliveries"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbound_deliveries" ADD CONSTRAINT "outbound_deliveries_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "received_postbacks" ADD CONSTRAINT "received_postbacks_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_hash_key" ON "api_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "api_keys_workspace_idx" ON "api_keys" USING btree ("workspace_id");--> statement-breakpoint
CREATE INDEX "audit_log_workspace_idx" ON "audit_log" USING btree ("workspace_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "auth_sessions_token_key" ON "auth_sessions" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "auth_sessions_user_idx" ON "auth_sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "memberships_user_idx" ON "memberships" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_key" ON "users" USING btree (lower("email"));--> statement-breakpoint
CREATE UNIQUE INDEX "workspaces_slug_key" ON "workspaces" USING btree ("slug");--> statement-breakpoint
CREATE INDEX "custom_event_types_workspace_alias_idx" ON "custom_event_types" USING btree ("workspace_id","alias");--> statement-breakpoint
CREATE INDEX "landers_workspace_idx" ON "landers" USING btree ("workspace_id");--> statement-breakpoint
CREATE INDEX "offer_sources_workspace_idx" ON "offer_sources" USING btree ("workspace_id");--> statement-breakpoint
CREATE INDEX "offers_workspace_idx" ON "offers" USING btree ("workspace_id");--> statement-breakpoint
CREATE INDEX "traffic_sources_workspace_idx" ON "traffic_sources" USING btree ("workspace_id");--> statement-breakpoint
CREATE UNIQUE INDEX "conversion_revisions_conversion_revision_key" ON "conversion_revisions" USING btree ("conversion_id","revision");--> statement-breakpoint
CREATE UNIQUE INDEX "conversions_identity_key" ON "conversions" USING btree ("workspace_id","hit_id","event_key","tx","seq");--> statement-breakpoint
CREATE INDEX "conversions_workspace_hit_at_idx" ON "conversions" USING btree ("workspace_id","hit_at");--> statement-breakpoint
CREATE UNIQUE INDEX "touches_conversion_hit_key" ON "touches" USING btree ("conversion_id","hit_id");--> statement-breakpoint
CREATE INDEX "touches_workspace_hit_at_idx" ON "touches" USING btree ("workspace_id","hit_at");--> statement-breakpoint
CREATE UNIQUE INDEX "tracking_domains_host_key" ON "tracking_domains" USING btree ("host");--> statement-breakpoint
CREATE INDEX "tracking_domains_workspace_idx" ON "tracking_domains" USING btree ("workspace_id");--> statement-breakpoint
CREATE UNIQUE INDEX "funnel_actions_from_number_key" ON "funnel_actions" USING btree ("from_node_id","number");--> statement-breakpoint
CREATE INDEX "funnel_actions_funnel_idx" ON "funnel_actions" USING btree ("funnel_id");--> statement-breakpoint
CREATE INDEX "funnel_nodes_funnel_idx" ON "funnel_nodes" USING btree ("funnel_id");--> statement-breakpoint
CREATE INDEX "funnels_workspace_idx" ON "funnels" USING btree ("workspace_id");--> statement-breakpoint
CREATE INDEX "hits_workspace_created_idx" ON "hits" USING btree ("workspace_id","created_at");--> statement-breakpoint
CREATE INDEX "hits_visitor_idx" ON "hits" USING btree ("visitor_id");--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "outbox" USING btree ("created_at") WHERE "outbox"."relayed_at" is null;--> statement-breakpoint
CREATE INDEX "delivery_attempts_delivery_idx" ON "delivery_attempts" USING btree ("delivery_id");--> statement-breakpoint
CREATE UNIQUE INDEX "outbound_deliveries_revision_key" ON "outbound_deliveries" USING btree ("conversion_id","revision","traffic_source_id");--> statement-breakpoint
CREATE INDEX "outbound_deliveries_workspace_idx" ON "outbound_deliveries" USING btree ("workspace_id","created_at");--> statement-breakpoint
CREATE INDEX "received_postbacks_workspace_time_idx" ON "received_postbacks" USING btree ("workspace_id","received_at");--> statement-breakpoint
CREATE INDEX "received_postbacks_hit_idx" ON "received_postbacks" USING btree ("hit_id");