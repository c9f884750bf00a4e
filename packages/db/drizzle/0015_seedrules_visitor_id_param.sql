ALTER TABLE "workspaces" ADD COLUMN "visitor_id_param" text DEFAULT 'vid' NOT NULL;--> statement-breakpoint
ALTER TABLE "offers" ADD COLUMN "pass_visitor_id" boolean DEFAULT true NOT NULL;