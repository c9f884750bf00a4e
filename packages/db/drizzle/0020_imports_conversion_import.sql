CREATE TYPE "public"."conversion_import_format" AS ENUM('csv', 'json');--> statement-breakpoint
CREATE TYPE "public"."conversion_import_status" AS ENUM('uploading', 'queued', 'running', 'done', 'failed');--> statement-breakpoint
ALTER TYPE "public"."conversion_source" ADD VALUE 'import';--> statement-breakpoint
CREATE TABLE "conversion_import_chunks" (
	"workspace_id" uuid NOT NULL,
	"import_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"data" "bytea" NOT NULL,
	CONSTRAINT "conversion_import_chunks_import_id_seq_pk" PRIMARY KEY("import_id","seq")
);
--> statement-breakpoint
CREATE TABLE "conversion_import_ledger" (
	"workspace_id" uuid NOT NULL,
	"row_hash" "bytea" NOT NULL,
	"import_id" uuid NOT NULL,
	"line" integer NOT NULL,
	CONSTRAINT "conversion_import_ledger_workspace_id_row_hash_pk" PRIMARY KEY("workspace_id","row_hash")
);
--> statement-breakpoint
CREATE TABLE "conversion_import_mappings" (
	"workspace_id" uuid PRIMARY KEY NOT NULL,
	"mapping" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "conversion_import_refusals" (
	"workspace_id" uuid NOT NULL,
	"import_id" uuid NOT NULL,
	"line" integer NOT NULL,
	"reason" text NOT NULL,
	"raw" jsonb NOT NULL,
	CONSTRAINT "conversion_import_refusals_import_id_line_pk" PRIMARY KEY("import_id","line")
);
--> statement-breakpoint
CREATE TABLE "conversion_imports" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"file_name" text NOT NULL,
	"format" "conversion_import_format" NOT NULL,
	"file_sha256" text,
	"file_bytes" bigint DEFAULT 0 NOT NULL,
	"mapping" jsonb NOT NULL,
	"options" jsonb NOT NULL,
	"status" "conversion_import_status" DEFAULT 'uploading' NOT NULL,
	"actor_user_id" uuid,
	"actor_api_key_id" uuid,
	"actor_label" text NOT NULL,
	"rows_done" integer DEFAULT 0 NOT NULL,
	"created" integer DEFAULT 0 NOT NULL,
	"updated" integer DEFAULT 0 NOT NULL,
	"deleted" integer DEFAULT 0 NOT NULL,
	"unchanged" integer DEFAULT 0 NOT NULL,
	"refused" integer DEFAULT 0 NOT NULL,
	"min_hit_at" timestamp with time zone,
	"error" text,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "conversion_import_chunks" ADD CONSTRAINT "conversion_import_chunks_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversion_import_chunks" ADD CONSTRAINT "conversion_import_chunks_import_id_conversion_imports_id_fk" FOREIGN KEY ("import_id") REFERENCES "public"."conversion_imports"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversion_import_ledger" ADD CONSTRAINT "conversion_import_ledger_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversion_import_mappings" ADD CONSTRAINT "conversion_import_mappings_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversion_import_refusals" ADD CONSTRAINT "conversion_import_refusals_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversion_import_refusals" ADD CONSTRAINT "conversion_import_refusals_import_id_conversion_imports_id_fk" FOREIGN KEY ("import_id") REFERENCES "public"."conversion_imports"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversion_imports" ADD CONSTRAINT "conversion_imports_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversion_imports" ADD CONSTRAINT "conversion_imports_actor_user_id_users_id_fk" FOREIGN KEY ("actor_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "conversion_imports_workspace_idx" ON "conversion_imports" USING btree ("workspace_id","created_at");--> statement-breakpoint
CREATE INDEX "hits_workspace_external_idx" ON "hits" USING btree ("workspace_id","external_id") WHERE "hits"."external_id" is not null;