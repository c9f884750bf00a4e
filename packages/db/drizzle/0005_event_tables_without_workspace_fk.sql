ALTER TABLE "conversion_revisions" DROP CONSTRAINT "conversion_revisions_workspace_id_workspaces_id_fk";
--> statement-breakpoint
ALTER TABLE "conversions" DROP CONSTRAINT "conversions_workspace_id_workspaces_id_fk";
--> statement-breakpoint
ALTER TABLE "touches" DROP CONSTRAINT "touches_workspace_id_workspaces_id_fk";
--> statement-breakpoint
ALTER TABLE "outbox" DROP CONSTRAINT "outbox_workspace_id_workspaces_id_fk";
--> statement-breakpoint
ALTER TABLE "delivery_attempts" DROP CONSTRAINT "delivery_attempts_workspace_id_workspaces_id_fk";
--> statement-breakpoint
ALTER TABLE "outbound_deliveries" DROP CONSTRAINT "outbound_deliveries_workspace_id_workspaces_id_fk";
--> statement-breakpoint
ALTER TABLE "received_postbacks" DROP CONSTRAINT "received_postbacks_workspace_id_workspaces_id_fk";
--> statement-breakpoint
ALTER TABLE "conversion_rollup_state" DROP CONSTRAINT "conversion_rollup_state_workspace_id_workspaces_id_fk";
--> statement-breakpoint
ALTER TABLE "conversion_rollups_hourly" DROP CONSTRAINT "conversion_rollups_hourly_workspace_id_workspaces_id_fk";
--> statement-breakpoint
ALTER TABLE "hit_rollups_hourly" DROP CONSTRAINT "hit_rollups_hourly_workspace_id_workspaces_id_fk";
