DROP INDEX "deliveries_client_created_idx";--> statement-breakpoint
CREATE INDEX "webhook_subscriptions_client_created_idx" ON "webhook_subscriptions" USING btree ("client_id","created_at","id");--> statement-breakpoint
CREATE INDEX "deliveries_client_created_idx" ON "deliveries" USING btree ("client_id","created_at","id");