DROP INDEX "webhook_events_due_idx";--> statement-breakpoint
DROP INDEX "webhook_events_order_idx";--> statement-breakpoint
DROP INDEX "webhook_subscriptions_client_url_uq";--> statement-breakpoint
ALTER TABLE "webhook_subscriptions" ADD COLUMN "consecutive_failures" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_subscriptions" ADD COLUMN "failing_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhook_subscriptions" ADD COLUMN "retry_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhook_subscriptions" ADD COLUMN "last_error" text;--> statement-breakpoint
ALTER TABLE "webhook_subscriptions" ADD COLUMN "last_error_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhook_subscriptions" ADD COLUMN "disabled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhook_subscriptions" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "webhook_attempts_event_idx" ON "webhook_attempts" USING btree ("event_id");--> statement-breakpoint
CREATE INDEX "webhook_events_subscription_due_idx" ON "webhook_events" USING btree ("subscription_id","next_attempt_at") WHERE "webhook_events"."state" = 'pending';--> statement-breakpoint
CREATE INDEX "webhook_events_finished_idx" ON "webhook_events" USING btree ("subscription_id","created_at") WHERE "webhook_events"."state" <> 'pending';--> statement-breakpoint
CREATE INDEX "webhook_subscriptions_deleted_idx" ON "webhook_subscriptions" USING btree ("deleted_at") WHERE "webhook_subscriptions"."deleted_at" is not null;--> statement-breakpoint
CREATE INDEX "webhook_events_order_idx" ON "webhook_events" USING btree ("delivery_id","subscription_id","seq") WHERE "webhook_events"."state" = 'pending';--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_subscriptions_client_url_uq" ON "webhook_subscriptions" USING btree ("client_id","url") WHERE "webhook_subscriptions"."deleted_at" is null;