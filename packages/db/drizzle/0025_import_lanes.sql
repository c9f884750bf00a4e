CREATE TABLE "conversion_import_batches" (
	"workspace_id" uuid NOT NULL,
	"import_id" uuid NOT NULL,
	"first_position" integer NOT NULL,
	"positions" integer[] NOT NULL,
	"created" integer NOT NULL,
	"updated" integer NOT NULL,
	"deleted" integer NOT NULL,
	"unchanged" integer NOT NULL,
	"refused" integer NOT NULL,
	"min_hit_at" timestamp with time zone,
	CONSTRAINT "conversion_import_batches_import_id_first_position_pk" PRIMARY KEY("import_id","first_position")
);
--> statement-breakpoint
ALTER TABLE "conversion_import_batches" ADD CONSTRAINT "conversion_import_batches_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conversion_import_batches" ADD CONSTRAINT "conversion_import_batches_import_id_conversion_imports_id_fk" FOREIGN KEY ("import_id") REFERENCES "public"."conversion_imports"("id") ON DELETE cascade ON UPDATE no action;