DROP INDEX "tracking_domains_host_key";--> statement-breakpoint
CREATE UNIQUE INDEX "tracking_domains_verified_host_key" ON "tracking_domains" USING btree ("host") WHERE "tracking_domains"."verified_at" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "tracking_domains_workspace_host_key" ON "tracking_domains" USING btree ("workspace_id","host");--> statement-breakpoint
CREATE INDEX "tracking_domains_host_idx" ON "tracking_domains" USING btree ("host");