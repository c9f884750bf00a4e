CREATE TABLE "rollup_watermarks" (
	"stream" text PRIMARY KEY NOT NULL,
	"snapshot" "pg_snapshot",
	"swept_at" timestamp with time zone,
	"rows" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- The default is set apart from ADD COLUMN: a volatile default there would rewrite every hit
-- partition. Set afterwards, it applies to new rows only; older rows stay NULL, which the visit
-- rollup sweep reads as already counted (the hourly rebuilds counted them).
ALTER TABLE "hits" ADD COLUMN "ingest_xid" "xid8";--> statement-breakpoint
ALTER TABLE "hits" ALTER COLUMN "ingest_xid" SET DEFAULT pg_current_xact_id();--> statement-breakpoint
CREATE INDEX "hits_ingest_xid_idx" ON "hits" USING btree ("ingest_xid") WHERE "hits"."ingest_xid" is not null;