import { Integer, named } from '@logistics/shared'
import * as v from 'valibot'

export const HealthSchema = named(
  'DeliveryHealth',
  v.object({
    status: v.literal('ok'),
    /** Seconds since the oldest webhook event still waiting for delivery was written; null when none waits. */
    oldest_pending_webhook_age_seconds: v.nullable(v.number()),
    /** Webhook endpoints disabled after their run of failures (their clients enable them again). */
    disabled_webhooks: v.pipe(
      Integer,
      v.minValue(0),
      v.description('Webhook endpoints disabled after their run of failures (their clients enable them again)'),
    ),
    /** Seconds between status ticks (absent when this process runs no tick). */
    tick_seconds: v.optional(Integer),
  }),
)
export type Health = v.InferOutput<typeof HealthSchema>
