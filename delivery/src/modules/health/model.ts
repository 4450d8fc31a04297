import * as v from 'valibot'

export const HealthSchema = v.object({
  status: v.literal('ok'),
  /** Seconds since the oldest webhook event still waiting for delivery was written; null when none waits. */
  oldest_pending_webhook_age_seconds: v.nullable(v.number()),
  /** Webhook endpoints disabled after their run of failures (their clients enable them again). */
  disabled_webhooks: v.number(),
  /** Seconds between status ticks (absent when this process runs no tick). */
  tick_seconds: v.optional(v.number()),
})
export type Health = v.InferOutput<typeof HealthSchema>

export const LiveSchema = v.object({ status: v.literal('ok') })
