DROP INDEX "webhook_events_order_idx";--> statement-breakpoint
CREATE INDEX "webhook_events_delivery_idx" ON "webhook_events" USING btree ("delivery_id","subscription_id","seq");