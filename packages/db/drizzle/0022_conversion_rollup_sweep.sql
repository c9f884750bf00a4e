-- Hand-edited. The default is set apart from ADD COLUMN: a volatile default there would rewrite the
-- whole table. Set afterwards, it applies to new rows only; older rows stay NULL, which the
-- conversion rollup sweep never reads: their `rollup.conversion` jobs were queued with them and
-- the worker still drains those.
ALTER TABLE "conversion_revisions" ADD COLUMN "ingest_xid" "xid8";--> statement-breakpoint
ALTER TABLE "conversion_revisions" ALTER COLUMN "ingest_xid" SET DEFAULT pg_current_xact_id();--> statement-breakpoint
CREATE INDEX "conversion_revisions_ingest_xid_idx" ON "conversion_revisions" USING btree ("ingest_xid") WHERE "conversion_revisions"."ingest_xid" is not null;--> statement-breakpoint
-- Hand-added: the sweep starts after every revision that exists now (their jobs are in the outbox
-- or already applied). A revision of a transaction still open now is in this snapshot's xip, so the
-- first sweep after it commits reads it. Should a rollup job and the sweep both see one revision,
-- the ledger (conversion_rollup_state) makes the second a no-op.
INSERT INTO "rollup_watermarks" ("stream", "snapshot", "swept_at") VALUES ('conversions', pg_current_snapshot(), now())
ON CONFLICT ("stream") DO NOTHING;
