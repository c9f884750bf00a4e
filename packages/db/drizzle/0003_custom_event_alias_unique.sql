-- A live alias could be taken twice by two racing creates before this index existed: keep the newest
-- live type under the alias and archive the others, so the unique index can be built on any data.
UPDATE "custom_event_types" AS older SET "archived_at" = now()
WHERE older."archived_at" IS NULL AND EXISTS (
  SELECT 1 FROM "custom_event_types" AS newer
  WHERE newer."workspace_id" = older."workspace_id" AND newer."alias" = older."alias"
    AND newer."archived_at" IS NULL AND newer."id" > older."id"
);--> statement-breakpoint
DROP INDEX "custom_event_types_workspace_alias_idx";--> statement-breakpoint
CREATE UNIQUE INDEX "custom_event_types_workspace_alias_key" ON "custom_event_types" USING btree ("workspace_id","alias") WHERE "custom_event_types"."archived_at" is null;
