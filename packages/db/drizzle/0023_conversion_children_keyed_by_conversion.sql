-- Hand-edited. Revisions and touches are reached only through their conversion, so their primary
-- key becomes the (conversion, …) unique index they already had, taken over as it is (USING INDEX:
-- no rebuild), and the index on their id goes: one index entry less per row on the postback path.
ALTER TABLE "conversion_revisions" DROP CONSTRAINT "conversion_revisions_pkey";--> statement-breakpoint
ALTER TABLE "conversion_revisions" ADD CONSTRAINT "conversion_revisions_conversion_revision_key" PRIMARY KEY USING INDEX "conversion_revisions_conversion_revision_key";--> statement-breakpoint
ALTER TABLE "touches" DROP CONSTRAINT "touches_pkey";--> statement-breakpoint
ALTER TABLE "touches" ADD CONSTRAINT "touches_conversion_hit_key" PRIMARY KEY USING INDEX "touches_conversion_hit_key";
--> statement-breakpoint
-- Hand-added (drizzle has no table storage parameters): room on each page of conversions for the
-- revenue and status updates of delayed postbacks, so they are HOT updates (no new index entries;
-- none of the columns they change is indexed) instead of three new index entries each. Applies to
-- pages written from now on.
ALTER TABLE "conversions" SET (fillfactor = 85);
