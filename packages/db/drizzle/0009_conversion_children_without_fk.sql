ALTER TABLE "conversion_revisions" DROP CONSTRAINT "conversion_revisions_conversion_id_conversions_id_fk";
--> statement-breakpoint
ALTER TABLE "touches" DROP CONSTRAINT "touches_conversion_id_conversions_id_fk";
