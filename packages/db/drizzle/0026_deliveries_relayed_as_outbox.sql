-- Hand-edited. A new outbound delivery is its own outbox entry: the relay claims deliveries not yet
-- relayed through the partial index and enqueues their first job, so the postback path writes no
-- outbox row for them. Every delivery already stored had an outbox row of its own (relayed or still
-- waiting in the outbox), so it is marked relayed: the column is added with now() as a default the
-- existing rows take (no rewrite), which new rows then do not get.
ALTER TABLE "outbound_deliveries" ADD COLUMN "relayed_at" timestamp with time zone DEFAULT now();--> statement-breakpoint
ALTER TABLE "outbound_deliveries" ALTER COLUMN "relayed_at" DROP DEFAULT;--> statement-breakpoint
CREATE INDEX "outbound_deliveries_unrelayed_idx" ON "outbound_deliveries" USING btree ("created_at") WHERE "outbound_deliveries"."relayed_at" is null;
